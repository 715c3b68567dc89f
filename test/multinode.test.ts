import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/events.js';
import type { Checkin, RecordUpdated, SubscribeAck, SubscribeRequest } from '../shared/schemas.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { requireRedis, uniquePrefix } from './support/redis.js';

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

function collect<E extends keyof ServerToClientEvents>(socket: Client, event: E) {
  const got: Parameters<ServerToClientEvents[E]>[0][] = [];
  socket.on(event, ((payload: any) => got.push(payload)) as any);
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
  let tdb: TestDatabase;
  let a: TestHub;
  let b: TestHub;
  const sockets: Client[] = [];

  before(async function () {
    const redisUrl = requireRedis(this);
    tdb = await createTestDatabase();
    await tdb.db('sites').insert([
      { id: 'S1', name: 'Main' },
      { id: 'S2', name: 'Depot' },
    ]);
    await tdb.db('employees').insert([
      { id: 'E1', name: 'Ann', site_id: 'S1' },
      { id: 'E2', name: 'Bob', site_id: 'S2' },
    ]);
    const prefix = uniquePrefix('multinode');
    a = await startTestHub({ db: tdb.db, redisUrl, prefix });
    b = await startTestHub({ db: tdb.db, redisUrl, prefix });
  });
  after(async () => {
    sockets.forEach((s) => s.disconnect());
    await a?.stop();
    await b?.stop();
    await tdb?.drop();
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
    assert.ok(ack.ok && (got[0] as Checkin).seq > ack.seq, 'the ack head precedes later events');
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
    assert.deepEqual(got1.map((c) => (c as Checkin).seq), [r1.body.data.seq]);
    assert.deepEqual(got2.map((c) => (c as Checkin).seq), [r2.body.data.seq]);
    assert.deepEqual(gotBoth.map((c) => (c as Checkin).seq), [r1.body.data.seq, r2.body.data.seq]);
  });

  it("the older API's creates reach dashboards as record.updated", async () => {
    const socket = await dashboard(a);
    sockets.push(socket);
    await subscribe(socket, { employees: ['E9'] });
    const got = collect(socket, 'record.updated');
    await api(b, 'POST', '/api/v1/attendance/create', { id: 'E9', name: 'Eve', status: 'present', date: '2026-11-27' });
    await until(() => got.length === 1);
    const r = got[0] as RecordUpdated;
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

  it('health/detail reports redis up', async () => {
    const res = await api(a, 'GET', '/api/v1/attendance/health/detail');
    assert.equal(res.status, 200);
    assert.equal(res.body.redis, 'up');
  });
});
