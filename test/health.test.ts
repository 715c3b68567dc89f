import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { createDb, type Knex } from '../server/db/knex.js';
import { createLogger } from '../server/logger.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTestHub, useTestHub, type TestHub } from './support/hub.js';
import { scrape } from './support/metrics.js';
import { dropKeys, requireRedis, uniquePrefix } from './support/redis.js';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy.js';

/** /health/live and /health/ready: open to anyone, answered within a bound whatever is down. */

// The hub's waits on PostgreSQL, short so that a cut shows within a second or two.
const DB_LIMITS = { queryTimeoutMs: 1000, statementTimeoutMs: 800, acquireTimeoutMs: 1000, connectTimeoutMs: 1000 };
const PROBE_BOUND_MS = 2000;
const RECOVERY_MS = 10_000;

const probe = async (hub: { url: string }, path: string) => {
  const started = performance.now();
  const res = await api(hub, 'GET', path, undefined, { authorization: '' });
  return { ...res, ms: performance.now() - started };
};

/** Probe until it answers `status` (a state the hub reaches by itself), or fail saying so. */
async function becomes(hub: { url: string }, path: string, status: number) {
  const deadline = Date.now() + RECOVERY_MS;
  for (;;) {
    const res = await probe(hub, path);
    if (res.status === status) return res;
    if (Date.now() > deadline) throw new Error(`${path} still answers ${res.status}, not ${status}: ${res.text}`);
  }
}

describe('health probes', function () {
  this.timeout(60_000);

  describe('with PostgreSQL and Redis behind proxies the test cuts', () => {
    let tdb: TestDatabase;
    let pg: TcpProxy;
    let redis: TcpProxy;
    let hubDb: Knex;
    let hub: TestHub;
    let redisUrl: string;
    const prefix = uniquePrefix('health');

    before(async function () {
      redisUrl = requireRedis(this);
      tdb = await createTestDatabase();
      pg = await startTcpProxy(tdb.url);
      redis = await startTcpProxy(redisUrl);
      hubDb = createDb(pg.url, DB_LIMITS, createLogger({ LOG_LEVEL: 'silent' }));
      hub = await startTestHub({ db: hubDb, redisUrl: redis.url, prefix });
    });
    after(async () => {
      pg?.pass();
      redis?.pass();
      await hub?.stop();
      await hubDb?.destroy();
      await pg?.close();
      await redis?.close();
      await tdb?.drop();
      if (redisUrl) await dropKeys(redisUrl, prefix);
    });

    it('answers live and ready without credentials while everything is up', async () => {
      const live = await probe(hub, '/health/live');
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, { data: { live: true } });
      const ready = await probe(hub, '/health/ready');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { data: { ready: true, draining: false, postgresql: 'up', redis: 'up' } });
      assert.equal((await scrape(hub, { authorization: `Bearer ${hub.adminToken}` })).value('hub_redis_up'), 1);
    });

    it('is not ready while PostgreSQL is unreachable, stays live, and is ready again once it is back', async () => {
      pg.cut();
      const ready = await probe(hub, '/health/ready');
      assert.equal(ready.status, 503);
      assert.ok(ready.ms < PROBE_BOUND_MS, `ready took ${Math.round(ready.ms)} ms`);
      assert.equal(ready.body.error.code, 'not_ready');
      assert.deepEqual(ready.body.error.details, { ready: false, draining: false, postgresql: 'down', redis: 'up' });
      assert.equal((await probe(hub, '/health/live')).status, 200);
      pg.pass();
      await becomes(hub, '/health/ready', 200);
    });

    it('is not ready while Redis is unreachable (and says so in hub_redis_up), and is ready again once it is back', async () => {
      redis.cut();
      const ready = await probe(hub, '/health/ready');
      assert.equal(ready.status, 503);
      assert.ok(ready.ms < PROBE_BOUND_MS, `ready took ${Math.round(ready.ms)} ms`);
      assert.deepEqual(ready.body.error.details, { ready: false, draining: false, postgresql: 'up', redis: 'down' });
      assert.equal((await scrape(hub, { authorization: `Bearer ${hub.adminToken}` })).value('hub_redis_up'), 0);
      assert.equal((await probe(hub, '/health/live')).status, 200);
      redis.pass();
      await becomes(hub, '/health/ready', 200);
    });
  });

  describe('while the hub drains', () => {
    const t = useTestHub({
      seed: async (db) => {
        await makeSite(db, { id: 'S1' });
        await makeEmployee(db, { id: 'E1', siteId: 'S1' });
      },
    });

    it('is not ready from the moment it starts closing, while it finishes the requests it has', async () => {
      assert.equal((await probe(t.hub, '/health/ready')).status, 200);
      const body = JSON.stringify({ employeeId: 'E1', type: 'in' });
      const socket = net.connect(t.hub.port, '127.0.0.1');
      const received = answers(socket, 2);
      // A check-in whose body is still on its way holds its connection open through the close.
      const started = new Promise<void>((resolve) =>
        t.hub.server.on('request', (req: IncomingMessage) => req.url === '/api/v1/checkins' && resolve()),
      );
      socket.write(
        `POST /api/v1/checkins HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${t.hub.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      );
      await started;
      const stopping = t.hub.stop();
      // On the same connection, after the check-in: a probe the closing hub must answer not ready.
      socket.write(`${body.slice(5)}GET /health/ready HTTP/1.1\r\nHost: hub\r\n\r\n`);
      const [checkin, ready] = await received;
      assert.equal(checkin!.status, 201, checkin!.text);
      assert.equal(ready!.status, 503, ready!.text);
      assert.deepEqual(JSON.parse(ready!.text).error, { code: 'not_ready', message: 'this node is shutting down', details: { ready: false, draining: true } });
      await stopping;
    });
  });
});

/** The first `n` HTTP/1.1 responses read from a raw socket (each with a Content-Length). */
function answers(socket: net.Socket, n: number): Promise<Array<{ status: number; text: string }>> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const got: Array<{ status: number; text: string }> = [];
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the connection closed after ${got.length} of ${n} responses`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        got.push({ status: Number(head.slice(9, 12)), text: buffer.subarray(end + 4, end + 4 + length).toString() });
        buffer = buffer.subarray(end + 4 + length);
        if (got.length === n) {
          socket.destroy();
          return resolve(got);
        }
      }
    });
  });
}
