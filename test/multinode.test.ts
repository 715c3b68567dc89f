import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, LiveEvent, LiveEventName, LiveEventPayloads, ServerToClientEvents } from '../shared/events.js';
import type { SubscribeAck, SubscribeRequest } from '../shared/schemas.js';
import type { TestDatabase } from './support/db.js';
import { api, startTwoNodes, type TestHub, type TwoNodes } from './support/hub.js';
import { until } from './support/live.js';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

function dashboard(hub: TestHub): Promise<Client> {
  const socket: Client = connect(hub.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: hub.adminToken } });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Packed, as the client library subscribes: these tests look at which events share a message. */
const subscribe = (socket: Client, request: SubscribeRequest) =>
  new Promise<SubscribeAck>((resolve) => socket.emit('subscribe', { packed: true, ...request }, resolve));

/** Every `events` message a socket receives, as it arrives. */
function messages(socket: Client): LiveEvent[][] {
  const got: LiveEvent[][] = [];
  socket.on('events', (batch) => got.push(batch));
  return got;
}

/** The events of one name, each as the envelope's seq with the payload's fields. */
function collect<E extends LiveEventName>(socket: Client, name: E) {
  const got: Array<LiveEventPayloads[E] & { seq: number }> = [];
  socket.on('events', (batch) => {
    for (const e of batch) if (e.name === name) got.push({ seq: e.seq, ...(e.payload as LiveEventPayloads[E]) });
  });
  return got;
}

describe('live broadcast across two nodes sharing Redis', () => {
  let nodes: TwoNodes | undefined;
  let tdb: TestDatabase;
  let a: TestHub;
  let b: TestHub;
  const sockets: Client[] = [];

  before(async function () {
    nodes = await startTwoNodes(this, 'multinode', async (db) => {
      await db('sites').insert([
        { id: 'S1', name: 'Main' },
        { id: 'S2', name: 'Depot' },
      ]);
      await db('employees').insert([
        { id: 'E1', name: 'Ann', site_id: 'S1' },
        { id: 'E2', name: 'Bob', site_id: 'S2' },
        { id: 'E3', name: 'Cem', site_id: 'S2' },
        { id: 'E4', name: 'Dee', site_id: 'S1' },
        { id: 'E5', name: 'Eli', site_id: 'S1' },
        // Sentinels: punched after the events under test, they arrive after all of them (delivery is in seq order).
        { id: 'X1', name: 'Sentinel 1', site_id: 'S1' },
        { id: 'X2', name: 'Sentinel 2', site_id: 'S2' },
      ]);
    });
    ({ tdb, a, b } = nodes);
  });
  after(async () => {
    sockets.forEach((s) => s.disconnect());
    await nodes?.stop();
  });

  it('a check-in posted to node A reaches a dashboard on node B', async () => {
    const socket = await dashboard(b);
    sockets.push(socket);
    const ack = await subscribe(socket, {});
    assert.equal(ack.ok, true);
    const got = collect(socket, 'checkin.recorded');
    const res = await api(a, 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'in' });
    assert.equal(res.status, 201);
    await until(() => got.length === 1);
    assert.deepEqual(got[0], res.body.data);
    assert.ok(ack.ok && got[0]!.seq > ack.seq, 'the ack head precedes later events');
  });

  it('a check-in and the presence change it causes reach each socket in one message, on both nodes', async () => {
    const onA = await dashboard(a);
    const onB = await dashboard(b);
    sockets.push(onA, onB);
    await subscribe(onA, { sites: ['S2'] });
    await subscribe(onB, { sites: ['S2'] });
    const gotA = messages(onA);
    const gotB = messages(onB);
    const res = await api(a, 'POST', '/api/v1/checkins', { employeeId: 'E3', type: 'toggle' });
    assert.equal(res.status, 201);
    const sentinel = (await api(a, 'POST', '/api/v1/checkins', { employeeId: 'X2', type: 'toggle' })).body.data.seq;
    const seen = (got: LiveEvent[][]) => got.flat().some((e) => e.seq === sentinel);
    await until(() => seen(gotA) && seen(gotB), 5000, 'the sentinel on both nodes');
    for (const got of [gotA, gotB]) {
      const theirs = got.find((batch) => batch.some((e) => e.seq === res.body.data.seq))!;
      assert.deepEqual(
        theirs.filter((e) => e.employeeId === 'E3').map((e) => [e.name, e.seq]),
        [
          ['checkin.recorded', res.body.data.seq],
          ['presence.changed', res.body.data.seq + 1],
        ],
        'the check-in and its presence change in one message',
      );
      assert.equal(got.flat().filter((e) => e.employeeId === 'E3').length, 2, 'and nothing else of it');
    }
  });

  it('site and employee filters deliver only matching events, each once', async () => {
    const site1 = await dashboard(b);
    const emp2 = await dashboard(a);
    const both = await dashboard(b);
    sockets.push(site1, emp2, both);
    await subscribe(site1, { sites: ['S1'] });
    await subscribe(emp2, { employees: ['E2'] });
    await subscribe(both, { sites: ['S1'], employees: ['E1', 'E2'] });
    const got1 = collect(site1, 'checkin.recorded');
    const got2 = collect(emp2, 'checkin.recorded');
    const gotBoth = collect(both, 'checkin.recorded');

    const r1 = await api(a, 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'out' });
    const r2 = await api(b, 'POST', '/api/v1/checkins', { employeeId: 'E2', type: 'in' });
    // X1 (site S1) reaches site1 and both; E2 again reaches emp2 and both.
    const x1 = await api(a, 'POST', '/api/v1/checkins', { employeeId: 'X1', type: 'toggle' });
    const e2 = await api(b, 'POST', '/api/v1/checkins', { employeeId: 'E2', type: 'out' });
    const has = (got: Array<{ seq: number }>, seq: number) => got.some((c) => c.seq === seq);
    await until(() => has(got1, x1.body.data.seq) && has(got2, e2.body.data.seq) && has(gotBoth, e2.body.data.seq), 5000, 'the sentinels');
    const [s1, s2, sx, se] = [r1, r2, x1, e2].map((r) => r.body.data.seq);
    assert.deepEqual(got1.map((c) => c.seq), [s1, sx]);
    assert.deepEqual(got2.map((c) => c.seq), [s2, se]);
    assert.deepEqual(gotBoth.map((c) => c.seq), [s1, s2, sx, se]);
  });

  it("the older API's creates reach dashboards as record.updated", async () => {
    const socket = await dashboard(a);
    sockets.push(socket);
    await subscribe(socket, { employees: ['E9'] });
    const got = collect(socket, 'record.updated');
    await api(b, 'POST', '/api/v1/attendance/create', { id: 'E9', name: 'Eve', status: 'present', date: '2026-11-27' });
    await until(() => got.length === 1);
    const r = got[0]!;
    assert.deepEqual(r, { seq: r.seq, id: 'E9', name: 'Eve', status: 'present', date: '2026-11-27' });
    assert.ok(r.seq > 0);
  });

  it('a plain Socket.IO subscriber gets each event as a message of its own name, in seq order, across nodes', async () => {
    const socket = await dashboard(b);
    sockets.push(socket);
    const named: Array<[string, number]> = [];
    const note = (e: LiveEvent) => void named.push([e.name, e.seq]);
    socket.on('checkin.recorded', note).on('presence.changed', note).on('record.updated', note);
    const packed: LiveEvent[][] = [];
    socket.on('events', (batch) => packed.push(batch));
    await new Promise<SubscribeAck>((resolve) => socket.emit('subscribe', { employees: ['E5'] }, resolve));
    const punch = (await api(a, 'POST', '/api/v1/checkins', { employeeId: 'E5', type: 'toggle' })).body.data;
    await api(a, 'POST', '/api/v1/attendance/create', { id: 'E5', name: 'Eli', status: 'present', date: '2026-11-28' });
    await until(() => named.some(([name]) => name === 'record.updated'), 5000, 'the record.updated sentinel');
    assert.deepEqual(named, [
      ['checkin.recorded', punch.seq],
      ['presence.changed', punch.seq + 1],
      ['record.updated', punch.seq + 2],
    ]);
    assert.deepEqual(packed, [], 'no packed messages unless asked');
  });

  it('an invalid subscribe is refused in the ack', async () => {
    const socket = await dashboard(a);
    sockets.push(socket);
    const ack = await subscribe(socket, { sites: 'S1' } as unknown as SubscribeRequest);
    assert.equal(ack.ok, false);
    assert.equal(!ack.ok && ack.error.code, 'validation_failed');
  });

  it('retries racing on both nodes leave exactly one row, and every answer is that check-in', async () => {
    const eventId = randomUUID();
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const sameEvent = await Promise.all(Array.from({ length: 10 }, (_, i) => api(i % 2 ? b : a, 'POST', '/api/v1/checkins', { employeeId: 'E4', type: 'in', eventId, occurredAt })));
    assert.deepEqual(sameEvent.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(sameEvent.map((r) => r.body.data.seq)).size, 1);
    // Identical punches under different eventIds (Frappe's duplicate): one row too.
    const outAt = new Date().toISOString();
    const twins = await Promise.all(Array.from({ length: 10 }, (_, i) => api(i % 2 ? b : a, 'POST', '/api/v1/checkins', { employeeId: 'E4', type: 'out', occurredAt: outAt })));
    assert.deepEqual(twins.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(twins.map((r) => r.body.data.seq)).size, 1);
    assert.deepEqual((await tdb.db('checkins').where({ employee_id: 'E4' }).orderBy('seq')).map((r) => r.type), ['in', 'out']);
  });

  it("an offline batch's stored punches reach dashboards on the other node like live ones; refused ones do not", async () => {
    const socket = await dashboard(b);
    sockets.push(socket);
    await subscribe(socket, { employees: ['E5'] });
    const got = collect(socket, 'checkin.recorded');
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    const res = await api(a, 'POST', '/api/v1/checkins/batch', {
      punches: [
        { employeeId: 'E5', type: 'out', occurredAt: ago(60) },
        { employeeId: 'E5', type: 'in', occurredAt: ago(120) },
        { employeeId: 'E5', type: 'out', occurredAt: ago(30) },
      ],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data.map((r: any) => r.error?.code ?? r.status), ['created', 'created', 'not_checked_in']);
    // The older API's create for E5 is a sentinel: it reaches this socket after anything before it.
    const records = collect(socket, 'record.updated');
    await api(a, 'POST', '/api/v1/attendance/create', { id: 'E5', name: 'Eli', status: 'present', date: '2026-11-27' });
    await until(() => records.length === 1 || got.length > 2, 5000, 'the sentinel');
    assert.deepEqual(got, [res.body.data[1].data, res.body.data[0].data]);
  });

  it('health/detail reports redis up', async () => {
    const res = await api(a, 'GET', '/api/v1/attendance/health/detail');
    assert.equal(res.status, 200);
    assert.equal(res.body.redis, 'up');
  });
});
