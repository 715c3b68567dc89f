import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, LiveEvent, LiveEventName, LiveEventPayloads, ServerToClientEvents } from '../shared/events.js';
import type { SubscribeAck, SubscribeRequest } from '../shared/schemas.js';
import type { TestDatabase } from './support/db.js';
import { api, startTwoNodes, type TestHub, type TwoNodes } from './support/hub.js';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

function dashboard(hub: TestHub): Promise<Client> {
  const socket: Client = connect(hub.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

const subscribe = (socket: Client, request: SubscribeRequest) =>
  new Promise<SubscribeAck>((resolve) => socket.emit('subscribe', request, resolve));

/** The payloads of one kind of live event, as they arrive in `events` messages. */
function collect<E extends LiveEventName>(socket: Client, name: E) {
  const got: LiveEventPayloads[E][] = [];
  socket.on('events', (batch) => {
    for (const e of batch) if (e.name === name) got.push(e.payload as LiveEventPayloads[E]);
  });
  return got;
}

async function until(check: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
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
    const batches = (socket: Client) => {
      const got: LiveEvent[][] = [];
      socket.on('events', (batch) => got.push(batch));
      return got;
    };
    const gotA = batches(onA);
    const gotB = batches(onB);
    const res = await api(a, 'POST', '/api/v1/checkins', { employeeId: 'E3', type: 'toggle' });
    assert.equal(res.status, 201);
    await until(() => gotA.length >= 1 && gotB.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    for (const got of [gotA, gotB]) {
      assert.equal(got.length, 1, 'one message');
      assert.deepEqual(
        got[0]!.map((e) => [e.name, e.payload.seq]),
        [
          ['checkin.recorded', res.body.data.seq],
          ['presence.changed', res.body.data.seq + 1],
        ],
      );
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
    await until(() => got1.length >= 1 && got2.length >= 1 && gotBoth.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got1.map((c) => c.seq), [r1.body.data.seq]);
    assert.deepEqual(got2.map((c) => c.seq), [r2.body.data.seq]);
    assert.deepEqual(gotBoth.map((c) => c.seq), [r1.body.data.seq, r2.body.data.seq]);
  });

  it("the older API's creates reach dashboards as record.updated", async () => {
    const socket = await dashboard(a);
    sockets.push(socket);
    await subscribe(socket, { employees: ['E9'] });
    const got = collect(socket, 'record.updated');
    await api(b, 'POST', '/api/v1/attendance/create', { id: 'E9', name: 'Eve', status: 'present', date: '2026-11-27' });
    await until(() => got.length === 1);
    const r = got[0]!;
    assert.deepEqual({ id: r.id, name: r.name, status: r.status, date: r.date }, { id: 'E9', name: 'Eve', status: 'present', date: '2026-11-27' });
    assert.ok(r.seq > 0);
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
    await until(() => got.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(got, [res.body.data[1].data, res.body.data[0].data]);
  });

  it('health/detail reports redis up', async () => {
    const res = await api(a, 'GET', '/api/v1/attendance/health/detail');
    assert.equal(res.status, 200);
    assert.equal(res.body.redis, 'up');
  });
});
