import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { io as connect, type Socket } from 'socket.io-client';
import { loadConfig } from '../server/config.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { startHubProcess, type HubProcess } from './support/hubProcess.js';
import { recordDashboard, until, type Recorder } from './support/live.js';
import { dropKeys, requireRedis, uniquePrefix } from './support/redis.js';

/**
 * WORKERS=2 as users run it: `node server/index.ts`, a primary that owns the port and hands each
 * connection to one of two worker processes. Facts come from the processes themselves: which one
 * holds a connection (Linux /proc), the log, and PostgreSQL.
 */

const EMPLOYEES = 40;
// Short bounds, so a connection the hub fails to bound shows within seconds.
const HEADERS_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 2000;

async function seed(tdb: TestDatabase) {
  await makeSite(tdb.db, { id: 'S1' });
  for (let i = 0; i < EMPLOYEES; i++) await makeEmployee(tdb.db, { id: `E${i}`, siteId: 'S1' });
}

type Answer = { status: number; body: any; clientPort: number };

/** One JSON request as the hub's admin; `agent` false opens a connection of its own. */
function request(hub: HubProcess, method: string, path: string, body: unknown, agent: http.Agent | false = false): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${hub.url}${path}`,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${hub.adminToken}`, ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}) },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: data.startsWith('{') ? JSON.parse(data) : data, clientPort: req.socket!.localPort! }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const checkin = (hub: HubProcess, employeeId: string, agent: http.Agent | false = false, eventId = randomUUID()) =>
  request(hub, 'POST', '/api/v1/checkins', { employeeId, type: 'toggle', eventId }, agent);

/**
 * A raw HTTP/1.1 exchange whose bytes are written in `pieces`, each after the one before has gone out
 * plus `gapMs`: a client whose request reaches the hub in parts. Resolves with the status line's code
 * once a whole head has come back (0 if the hub closed without answering).
 */
function rawExchange(port: number, pieces: string[], gapMs = 10): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let text = '';
    const done = () => {
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, ms: performance.now() - started });
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (head >= 0 && text.length >= head + 4 + length) done();
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
    const send = (i: number) => {
      if (i < pieces.length) socket.write(pieces[i]!, () => setTimeout(send, gapMs, i + 1));
    };
    socket.on('connect', () => send(0));
  });
}

/** A new connection's client port: the one in `after` that was not in `before`. */
function newPort(before: Map<number, number>, after: Map<number, number>): number | undefined {
  return [...after.keys()].find((port) => !before.has(port));
}

/**
 * A dashboard (the client library, websocket) and the worker holding its connection, and every seq
 * that reached its socket on the wire, duplicates included (the library drops those before onEvent).
 */
type Placed = Recorder & { worker: number; wire: number[] };

async function dashboardOn(hub: HubProcess): Promise<Placed> {
  const before = hub.holders();
  const d = recordDashboard(hub);
  const wire: number[] = [];
  d.client.socket.on('events', (batch) => wire.push(...batch.map((e) => e.seq)));
  await until(() => d.acks.length === 1, 10_000, 'a subscription');
  let port: number | undefined;
  await until(() => (port = newPort(before, hub.holders())) !== undefined, 5000, "the dashboard's connection in /proc");
  return Object.assign(d, { worker: hub.holders().get(port!)!, wire });
}

/** Dashboards connected one after another until two are held by different workers. */
async function dashboardsOnBothWorkers(hub: HubProcess, open: Recorder[]): Promise<[Placed, Placed]> {
  const first = await dashboardOn(hub);
  open.push(first);
  for (let i = 0; i < 6; i++) {
    const other = await dashboardOn(hub);
    open.push(other);
    if (other.worker !== first.worker) return [first, other];
  }
  throw new Error('six dashboards in a row were handed to the same worker');
}

/** A check-in taken by one worker reaches dashboards on both. */
async function crossWorkerDelivery(hub: HubProcess, open: Recorder[]) {
  const [a, b] = await dashboardsOnBothWorkers(hub, open);
  assert.deepEqual(new Set([a.worker, b.worker]), new Set(hub.workers()), 'the dashboards are on the two workers');
  const agent = new http.Agent({ keepAlive: true });
  try {
    const res = await checkin(hub, 'E0', agent);
    assert.equal(res.status, 201);
    const taker = hub.holders().get(res.clientPort);
    assert.ok(taker !== undefined && hub.workers().includes(taker), 'a worker took the check-in');
    for (const d of [a, b]) await until(() => d.seqs().includes(res.body.data.seq), 10_000, `the check-in on the dashboard of worker ${d.worker}`);
  } finally {
    agent.destroy();
  }
}

describe('WORKERS=2: one port, worker processes behind it', function () {
  this.timeout(60_000);

  describe('without Redis (workers linked through the primary)', () => {
    let tdb: TestDatabase;
    let hub: HubProcess;
    const open: Array<Recorder | Socket> = [];
    const close = () => open.splice(0).forEach((c) => ('client' in c ? c.client.close() : c.close()));

    before(async () => {
      tdb = await createTestDatabase();
      await seed(tdb);
      hub = await startHubProcess(tdb.url, { WORKERS: '2', HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) });
      assert.equal(hub.workers().length, 2, hub.output());
    });
    afterEach(close);
    after(async () => {
      close();
      await hub?.kill();
      await tdb?.drop();
    });

    it('long-polling clients stay on the worker that holds their session, request after request', async () => {
      const clients = Array.from({ length: 6 }, () => connect(hub.url, { transports: ['polling'], forceNew: true, reconnection: false, auth: { token: hub.adminToken } }));
      open.push(...clients);
      const trouble: string[] = [];
      for (const c of clients) {
        c.on('connect_error', (err) => trouble.push(`connect_error ${err.message}`));
        c.on('disconnect', (reason) => trouble.push(`disconnect ${reason}`));
      }
      await until(() => clients.every((c) => c.connected) || trouble.length > 0, 10_000, 'the clients to connect');
      // Each client keeps a long-poll open: between them they hold connections on both workers.
      await until(() => new Set([...hub.holders().values()].filter((pid) => hub.workers().includes(pid))).size === 2, 5000, 'pending polls on both workers');
      let acks = 0;
      for (let round = 0; round < 15; round++) {
        const answers = await Promise.all(clients.map((c) => c.timeout(5000).emitWithAck('subscribe', { sites: ['S1'] })));
        acks += answers.filter((a) => a.ok).length;
      }
      assert.deepEqual(trouble, []);
      assert.equal(acks, 6 * 15);
      assert.ok(clients.every((c) => c.io.engine.transport.name === 'polling'));
    });

    it("socket.io-client's defaults (long-polling, then the upgrade to WebSocket) work", async () => {
      const clients = Array.from({ length: 4 }, () => connect(hub.url, { forceNew: true, reconnection: false, auth: { token: hub.adminToken } }));
      open.push(...clients);
      const trouble: string[] = [];
      for (const c of clients) c.on('connect_error', (err) => trouble.push(`connect_error ${err.message}`));
      await until(() => clients.every((c) => c.io.engine?.transport.name === 'websocket') || trouble.length > 0, 10_000, 'every client upgraded');
      assert.deepEqual(trouble, []);
      const answers = await Promise.all(clients.map((c) => c.timeout(5000).emitWithAck('subscribe', { sites: ['S1'] })));
      assert.ok(answers.every((a) => a.ok));
    });

    it('a request that reaches the hub in pieces reaches its worker whole', async () => {
      // Bodies sent after their headers, on many new connections at once (the primary hands them over one at a time).
      const posts = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const body = JSON.stringify({ employeeId: `E${i}`, type: 'toggle', eventId: randomUUID() });
          const head =
            `POST /api/v1/checkins HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${hub.adminToken}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
          return rawExchange(hub.port, [head, body]);
        }),
      );
      assert.deepEqual(
        posts.map((p) => p.status),
        posts.map(() => 201),
        posts.find((p) => p.status !== 201)?.text,
      );
      // A polling request whose request line is cut before its session id still reaches that session's worker.
      const handshake = await request(hub, 'GET', '/socket.io/?EIO=4&transport=polling', undefined);
      const sid = (JSON.parse(String(handshake.body).slice(1)) as { sid: string }).sid;
      for (let i = 0; i < 8; i++) {
        const pong = await rawExchange(hub.port, ['POST /socket.io/?EIO=4&transport=polling&s', `id=${sid} HTTP/1.1\r\nHost: hub\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\n3`]);
        assert.equal(pong.status, 200, pong.text);
      }
    });

    it('a connection that stops in the middle of its headers is answered 408 and closed within the headers timeout', async () => {
      const stalled = await rawExchange(hub.port, ['POST /api/v1/checkins HTTP/1.1\r\nHost: hub\r\n']);
      assert.equal(stalled.status, 408, stalled.text);
      // Node checks its timeouts once a second.
      assert.ok(stalled.ms < HEADERS_TIMEOUT_MS + 2000, `closed after ${Math.round(stalled.ms)} ms`);
    });

    it('a check-in taken by one worker reaches dashboards on both (cluster adapter)', async () => {
      await crossWorkerDelivery(hub, open as Recorder[]);
    });

    it("a worker killed outright is replaced, and its dashboards resume by seq: no gap, no duplicate", async () => {
      const dashboards: Placed[] = [];
      for (let i = 0; i < 4; i++) dashboards.push(await dashboardOn(hub));
      open.push(...dashboards);
      const victim = dashboards[0]!.worker;
      const onVictim = dashboards.filter((d) => d.worker === victim);
      const workersBefore = hub.workers();

      // Check-ins keep coming while the worker dies: a request cut off with it is retried with its eventId.
      const acked = new Set<string>();
      let writing = true;
      let stopped = '';
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const eventId = randomUUID();
          for (;;) {
            const res = await checkin(hub, `E${i % EMPLOYEES}`, false, eventId).catch(() => null);
            if (res && (res.status === 201 || res.status === 200)) break;
            assert.ok(res === null, `a check-in answered ${res?.status}: ${JSON.stringify(res?.body)}`);
          }
          acked.add(eventId);
        }
      })().catch((err: Error) => {
        stopped = err.message;
        throw err;
      });
      await until(() => acked.size >= 20, 10_000, 'check-ins before the kill');
      process.kill(victim, 'SIGKILL');

      // Its replacement, killed too before it can have started: a worker that dies young is replaced as well.
      let replacement: number | undefined;
      await until(() => (replacement = hub.workers().find((pid) => !workersBefore.includes(pid))) !== undefined, 10_000, 'a replacement worker');
      process.kill(replacement!, 'SIGKILL');
      let third: number | undefined;
      await until(() => (third = hub.workers().find((pid) => !workersBefore.includes(pid) && pid !== replacement)) !== undefined, 15_000, 'a second replacement');

      for (const d of onVictim) await until(() => d.acks.length >= 2, 10_000, 'the dashboard to subscribe again elsewhere');
      const ackedAfterResume = acked.size;
      await until(() => acked.size >= ackedAfterResume + 20 || stopped !== '', 10_000, 'check-ins after the dashboards came back')
      assert.equal(stopped, '', 'the check-ins went on');
      writing = false;
      await writer;
      // The new worker serves: dashboards connected from now on are handed to it in turn (with no
      // check-ins opening connections between them, whose turns could all fall to the other worker).
      await until(() => hub.logged('replacement worker serving').some((l) => l.worker === third), 15_000, 'the second replacement to serve');
      let late: Placed | undefined;
      for (let i = 0; i < 6 && late?.worker !== third; i++) {
        late = await dashboardOn(hub);
        open.push(late);
      }
      assert.equal(late!.worker, third, `no dashboard reached the new worker; workers ${hub.workers().join(', ')}`);

      const sentinel = await checkin(hub, 'E0');
      assert.equal(sentinel.status, 201);
      const last = sentinel.body.data.seq as number;
      // A check-in may commit more than one event (its seq is the first): compare up to what the dashboard holds.
      const expected = async (since: number, through: number) => (await tdb.db('events').where('seq', '>', since).andWhere('seq', '<=', through).orderBy('seq').pluck('seq')).map(Number);
      for (const d of [...dashboards, late!]) {
        await until(() => d.seqs().includes(last), 10_000, `the sentinel on a dashboard of worker ${d.worker}`);
        const want = await expected(d.acks[0]!.seq, Math.max(...d.seqs()));
        assert.deepEqual(d.seqs(), want, `dashboard first on worker ${d.worker}: what it was handed against the database`);
        assert.deepEqual(d.wire, want, `dashboard first on worker ${d.worker}: what reached its socket (no duplicate on the wire)`);
      }
      assert.ok(onVictim.every((d) => d.acks.length >= 2));
      const stored = await tdb.db('checkins').whereIn('event_id', [...acked]).select('event_id');
      assert.equal(stored.length, acked.size, 'every acknowledged check-in stored once');
      assert.equal(hub.logged('worker died; starting another').length, 2);
    });

    it('SIGTERM under load: no 5xx, every acknowledged check-in stored once under gapless seqs, exit 0', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      type Outcome = { eventId: string; status?: number; error?: string; at: number };
      const outcomes: Outcome[] = [];
      let termAt = Infinity;
      const loops = Array.from({ length: 16 }, async (_, w) => {
        for (;;) {
          const eventId = randomUUID();
          try {
            const res = await checkin(hub, `E${w}`, agent, eventId);
            outcomes.push({ eventId, status: res.status, at: performance.now() });
            if (res.status !== 201) return;
          } catch (err) {
            outcomes.push({ eventId, error: (err as NodeJS.ErrnoException).code ?? String(err), at: performance.now() });
            // Once the hub refuses connections, this loop is done; before that, a closed connection is retried.
            if (termAt === Infinity || (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
          }
        }
      });
      await until(() => outcomes.length >= 300, 20_000, 'check-ins under way');
      termAt = performance.now();
      process.kill(hub.pid, 'SIGTERM');
      await Promise.all(loops);
      agent.destroy();
      const { code } = await hub.exited;

      const before = outcomes.filter((o) => o.at < termAt);
      const after = outcomes.filter((o) => o.at >= termAt);
      assert.deepEqual(before.filter((o) => o.status !== 201), [], 'before SIGTERM: every answer a 201');
      const clean = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
      assert.deepEqual(after.filter((o) => (o.status !== undefined ? o.status !== 201 : !clean.has(o.error!))), [], 'after SIGTERM: 201s, or refused or closed connections');
      assert.ok(after.some((o) => o.error === 'ECONNREFUSED'), 'the port was closed');
      assert.equal(code, 0, hub.output());
      assert.equal(hub.logged('attendance hub stopped').length, 1, hub.output());

      const acked = outcomes.filter((o) => o.status === 201).map((o) => o.eventId);
      const rows = await tdb.db('checkins').select('event_id');
      const stored = rows.map((r: { event_id: string }) => r.event_id);
      const storedSet = new Set(stored);
      assert.equal(storedSet.size, stored.length, 'no check-in stored twice');
      assert.deepEqual(acked.filter((id) => !storedSet.has(id)), [], 'every 201 stored');
      const { n, max } = (await tdb.db('events').select(tdb.db.raw('count(*)::int AS n, coalesce(max(seq), 0)::int AS max')))[0] as { n: number; max: number };
      const head = Number((await tdb.db('event_seq').where({ id: 1 }).first('value')).value);
      assert.deepEqual([n, head], [max, max], 'seqs gapless: 1..max, each once, and the counter at max');
    });
  });

  describe('with Redis (Redis adapter between the workers)', () => {
    let tdb: TestDatabase;
    let hub: HubProcess;
    let redisUrl: string;
    const prefix = uniquePrefix('workers');
    const open: Recorder[] = [];

    before(async function () {
      redisUrl = requireRedis(this);
      tdb = await createTestDatabase();
      await seed(tdb);
      hub = await startHubProcess(tdb.url, { WORKERS: '2', REDIS_URL: redisUrl, REDIS_PREFIX: prefix });
    });
    after(async () => {
      open.splice(0).forEach((d) => d.client.close());
      await hub?.kill();
      await tdb?.drop();
      if (redisUrl) await dropKeys(redisUrl, prefix);
    });

    it('a check-in taken by one worker reaches dashboards on both', async () => {
      await crossWorkerDelivery(hub, open);
    });
  });

  describe('the WORKERS setting', () => {
    it('defaults to 1, takes a number, and `auto` is one per core', () => {
      assert.equal(loadConfig({}).WORKERS, 1);
      assert.equal(loadConfig({ WORKERS: '3' }).WORKERS, 3);
      assert.equal(loadConfig({ WORKERS: 'auto' }).WORKERS, os.availableParallelism());
      for (const bad of ['0', 'many', '1.5']) assert.throws(() => loadConfig({ WORKERS: bad }), /Invalid WORKERS=/);
    });
  });
});
