import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import { createDashboardClient, createKioskClient, type DashboardClient, type KioskClient } from '../shared/client.js';
import type { ClientToServerEvents, LiveEvent, ServerToClientEvents } from '../shared/events.js';
import type { KioskAck, SubscribeAck } from '../shared/schemas.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTwoNodes, type TwoNodes } from './support/hub.js';
import { until } from './support/live.js';

type RawClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Every way a client may reach the Socket.IO endpoint. Browsers and socket.io-client's defaults start
 * on HTTP long-polling, whose requests share the REST port: Koa must never answer them too (it did,
 * and the second answer threw outside any handler and ended the process).
 */
const TRANSPORTS: Array<[string, Parameters<typeof connect>[1]]> = [
  ["the client library's defaults", undefined],
  ["socket.io-client's defaults (long-polling, then upgrade)", { transports: ['polling', 'websocket'] }],
  ['long-polling only', { transports: ['polling'] }],
  ['websocket only', { transports: ['websocket'] }],
];

describe('Socket.IO over every transport, on one node and across two', () => {
  let nodes: TwoNodes;
  const open: Array<DashboardClient | KioskClient | RawClient> = [];

  before(async function () {
    nodes = await startTwoNodes(this, 'transports', async (db) => {
      await makeSite(db, { id: 'S1' });
      for (let i = 0; i < TRANSPORTS.length * 2; i++) await makeEmployee(db, { id: `T${i}`, siteId: 'S1' });
    });
  });
  afterEach(() => open.splice(0).forEach((c) => c.close()));
  after(async () => nodes?.stop());

  TRANSPORTS.forEach(([name, socket], i) => {
    for (const [where, kioskNode] of [
      ['the same node', 'a'],
      ['the other node', 'b'],
    ] as const) {
      it(`${name}: a kiosk on ${where} checks in and the dashboard on node A sees it`, async () => {
        const events: LiveEvent[] = [];
        const acks: SubscribeAck[] = [];
        const dashboard = createDashboardClient({ url: nodes.a.url, token: nodes.a.adminToken, sites: ['S1'], onEvent: (e) => events.push(e), onSubscribed: (a) => acks.push(a), socket: { ...socket, forceNew: true } });
        const kiosk = createKioskClient({ url: nodes[kioskNode].url, token: nodes.a.adminToken, socket: { ...socket, forceNew: true } });
        open.push(dashboard, kiosk);
        await until(() => acks.length === 1, 10_000, 'the subscription');

        const employeeId = `T${i * 2 + (kioskNode === 'a' ? 0 : 1)}`;
        const { data, created } = await kiosk.checkin({ employeeId, type: 'in' });
        assert.equal(created, true);
        await until(() => events.some((e) => e.name === 'presence.changed' && e.payload.employeeId === employeeId), 10_000, 'the event on node A');
        assert.deepEqual(
          events.filter((e) => e.name === 'checkin.recorded').map((e) => ({ seq: e.seq, ...e.payload })),
          [data],
        );
        for (const hub of [nodes.a, nodes.b]) assert.equal((await api(hub, 'GET', '/api/v1/attendance/health')).status, 200, 'both nodes still serve');
      });
    }
  });

  it('a bare io(url) with no options but its token can subscribe and punch, and the node lives on', async () => {
    const socket: RawClient = connect(nodes.b.url, { forceNew: true, auth: { token: nodes.b.adminToken } });
    open.push(socket);
    const ack = await socket.timeout(10_000).emitWithAck('subscribe', { sites: ['S1'] });
    assert.equal(ack.ok, true);
    const punch: KioskAck = await socket.timeout(10_000).emitWithAck('checkin', { employeeId: 'T0', type: 'out' });
    assert.equal(punch.ok, true);
    assert.equal((await api(nodes.b, 'GET', '/api/v1/attendance/health')).status, 200);
  });

  it('REST never answers on the Socket.IO path: a stray request there gets only engine.io’s answer', async () => {
    for (const method of ['GET', 'POST']) {
      const res = await fetch(`${nodes.a.url}/socket.io/?EIO=4&transport=polling&sid=nope`, { method, body: method === 'POST' ? '1:6' : undefined });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { code: 1, message: 'Session ID unknown' });
    }
    assert.equal((await api(nodes.a, 'GET', '/api/v1/attendance/health')).status, 200);
  });
});
