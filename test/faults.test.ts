import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { pino } from 'pino';
import { io as connectSocket } from 'socket.io-client';
import { loadConfig } from '../server/config.js';
import { createDb, type Knex } from '../server/db/knex.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeSite } from './support/factories.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { requireRedis, uniquePrefix } from './support/redis.js';
import { startOwnRedis, type OwnRedis } from './support/redisServer.js';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy.js';

/**
 * Fault drills on the hub's own processes: PostgreSQL is reached through a TCP proxy the test
 * freezes or cuts, Redis is a redis-server of the test's own (also behind a proxy), and clients
 * misbehave on raw sockets. In every drill: each answer comes within a bound (not the fault's length),
 * every acknowledged check-in is stored exactly once, nothing rejected is stored, and the hub recovers
 * without a restart.
 */

// Short limits so a drill takes seconds; the bounds below follow from them.
const DB_ENV = { DB_QUERY_TIMEOUT_MS: '1000', DB_STATEMENT_TIMEOUT_MS: '800', DB_ACQUIRE_TIMEOUT_MS: '1000', DB_CONNECT_TIMEOUT_MS: '1000' };
const PG_BOUND_MS = 3000;
const DOWN_READ_BOUND_MS = 2000;
const REDIS_BOUND_MS = 2000;
const BODY_TIMEOUT_MS = 500;
const HEADERS_TIMEOUT_MS = 500;
const SLACK_MS = 1000;
// Fault lengths: each longer than the bound it tests, so a hub that waits the fault out is caught.
const PG_FREEZE_MS = 4500;
const PG_OUTAGE_MS = 2500;
const REDIS_FREEZE_MS = 3000;
const RECOVERY_MS = 10_000;

// A marker replaced in the JSON text by the escape \ud800, a lone surrogate that JSON.parse lets through.
const LONE = '<lone-surrogate>';
const rawJson = (value: unknown) => JSON.stringify(value).replaceAll(LONE, '\\ud800');
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

type Answer = { what: string; status: number; code?: string; retryAfter: string | null; ms: number; body: any; closed?: boolean };

/** One timed HTTP exchange; a connection that fails is status 0 (as ambiguous as a 5xx). */
async function send(hub: { url: string }, method: string, path: string, body?: string): Promise<Answer> {
  const what = `${method} ${path.split('?')[0]}`;
  const started = performance.now();
  try {
    const res = await api(hub, method, path, body);
    return { what, status: res.status, code: res.body?.error?.code, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started, body: res.body };
  } catch (err) {
    return { what, status: 0, code: String((err as Error).cause ?? err), retryAfter: null, ms: performance.now() - started, body: undefined };
  }
}

/** Poll an async condition until it yields a value (a fact), or fail naming what never happened. */
async function eventually<T>(attempt: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Hold a fault for ms (the fault itself, not a wait for a fact) while load runs through it; then heal and collect the load's answers. */
async function holdFault<T>(ms: number, heal: () => unknown, load: (faulty: () => boolean) => Promise<T>): Promise<T> {
  let faulty = true;
  const healed = new Promise((r) => setTimeout(r, ms)).then(() => {
    faulty = false;
    return heal();
  });
  const result = await load(() => faulty);
  await healed;
  return result;
}

/** `writers` concurrent loops, each sending one request after the other while `active`, at most `max` each. */
async function load(writers: number, max: number, active: () => boolean, work: (w: number) => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < max && active(); i++) answers.push(await work(w));
    }),
  );
  return answers;
}

const acknowledged = (a: Answer) => a.status === 200 || a.status === 201;
const unavailable = (a: Answer) => a.status === 503 && a.code === 'unavailable' && !!a.retryAfter;

/** Collects broken expectations so one run reports all of a drill's failures, not only the first. */
class Expectations {
  private failed: string[] = [];
  check(ok: boolean, message: string) {
    if (!ok) this.failed.push(message);
  }
  /** Every answer is allowed by `ok` and came within boundMs. */
  answers(answers: Answer[], boundMs: number, ok: (a: Answer) => boolean, what: string) {
    const wrong = answers.filter((a) => !ok(a));
    const slow = answers.filter((a) => a.ms > boundMs);
    this.check(wrong.length === 0, `${what}: ${wrong.length} of ${answers.length} answers not allowed: ${summary(wrong)}`);
    this.check(slow.length === 0, `${what}: ${slow.length} of ${answers.length} answers later than ${boundMs} ms: ${summary(slow)}`);
  }
  done() {
    assert.deepEqual(this.failed, [], `\n${this.failed.join('\n')}`);
  }
}

function summary(answers: Answer[]): string {
  const groups = new Map<string, Answer[]>();
  for (const a of answers) {
    const key = `${a.what} → ${a.status || 'no answer'}${a.code ? ` ${a.code}` : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  return [...groups]
    .map(([key, as]) => `${key} ×${as.length} (${Math.round(Math.min(...as.map((a) => a.ms)))}–${Math.round(Math.max(...as.map((a) => a.ms)))} ms)`)
    .join('; ');
}

/** Every check-in a drill sends, and what became of it: the database must hold exactly the acknowledged ones. */
class Ledger {
  private acked = new Set<string>();
  private rejected = new Set<string>();
  /** eventId → JSON text, for a retry with the same eventId. */
  private ambiguous = new Map<string, string>();

  /** POST one check-in as JSON text (so a lone surrogate escape survives). */
  async checkin(hub: { url: string }, fields: Record<string, string>): Promise<Answer> {
    const eventId = fields.eventId ?? randomUUID();
    const text = rawJson({ ...fields, eventId });
    const answer = await send(hub, 'POST', '/api/v1/checkins', text);
    this.note(eventId, text, answer);
    return answer;
  }

  note(eventId: string, text: string, answer: Pick<Answer, 'status' | 'body'>) {
    this.ambiguous.delete(eventId);
    if (answer.status === 200 || answer.status === 201) this.acked.add(answer.body.data.eventId);
    else if (answer.status >= 400 && answer.status < 500) this.rejected.add(eventId);
    else this.ambiguous.set(eventId, text);
  }

  ack(eventId: string) {
    this.acked.add(eventId);
  }

  reject(eventId: string) {
    this.rejected.add(eventId);
  }

  /** A 5xx (or no answer) may have committed: retrying with the same eventId must end in 200/201. */
  async settle(hub: { url: string }, expect: Expectations) {
    const stuck: string[] = [];
    await Promise.all(
      [...this.ambiguous].map(async ([eventId, text]) => {
        const retry = async () => {
          const a = await send(hub, 'POST', '/api/v1/checkins', text);
          return a.status >= 500 || a.status === 0 ? undefined : a;
        };
        const answer = await eventually(retry, RECOVERY_MS, 'a retry').catch(() => undefined);
        if (!answer) return void stuck.push(eventId);
        this.note(eventId, text, answer);
        expect.check(acknowledged(answer), `retrying ambiguous check-in ${eventId} with its eventId answered ${answer.status} ${answer.code ?? ''}`);
      }),
    );
    expect.check(stuck.length === 0, `${stuck.length} ambiguous check-ins still answered 5xx when retried with their eventId for ${RECOVERY_MS} ms`);
  }

  async checkStored(db: Knex, expect: Expectations) {
    const stored: string[] = await db('checkins').pluck('event_id');
    const held = new Set(stored);
    const missing = [...this.acked].filter((id) => !held.has(id));
    const rejectedStored = [...this.rejected].filter((id) => held.has(id));
    // One still ambiguous (its retries failed, reported by settle) may or may not be stored.
    const unacknowledged = stored.filter((id) => !this.acked.has(id) && !this.ambiguous.has(id));
    expect.check(held.size === stored.length, 'a check-in is stored twice');
    expect.check(missing.length === 0, `${missing.length} of ${this.acked.size} acknowledged check-ins are not stored`);
    expect.check(rejectedStored.length === 0, `${rejectedStored.length} rejected check-ins are stored`);
    expect.check(unacknowledged.length === 0, `${unacknowledged.length} stored check-ins were never acknowledged`);
  }
}

type Drill = { tdb: TestDatabase; pg: TcpProxy; hub: TestHub; ledger: Ledger; redis?: OwnRedis; redisProxy?: TcpProxy };

/**
 * A test database with sites S1, S2 and the given employees (at S1), and a hub over it whose own
 * Knex goes through a proxy, built with the limits its config gives it (as server/index.ts does).
 * With redis, the hub uses a redis-server of the test's own, also through a proxy.
 */
function useDrill(opts: { employees: string[]; env?: Record<string, string>; redis?: boolean }): Drill {
  const ctx = {} as Drill;
  let hubDb: Knex | undefined;
  before(async function () {
    if (opts.redis) {
      requireRedis(this);
      ctx.redis = await startOwnRedis();
      ctx.redisProxy = await startTcpProxy(ctx.redis.url);
    }
    const env = { ...DB_ENV, ...opts.env };
    ctx.tdb = await createTestDatabase();
    await makeSite(ctx.tdb.db, { id: 'S1' });
    await makeSite(ctx.tdb.db, { id: 'S2' });
    await ctx.tdb.db.batchInsert('employees', opts.employees.map((id) => ({ id, name: id, site_id: 'S1' })), 500);
    ctx.pg = await startTcpProxy(ctx.tdb.url);
    const c = loadConfig(env);
    const limits = {
      poolMax: c.DB_POOL_MAX,
      statementTimeoutMs: c.DB_STATEMENT_TIMEOUT_MS,
      queryTimeoutMs: c.DB_QUERY_TIMEOUT_MS,
      acquireTimeoutMs: c.DB_ACQUIRE_TIMEOUT_MS,
      connectTimeoutMs: c.DB_CONNECT_TIMEOUT_MS,
    };
    hubDb = createDb(ctx.pg.url, limits, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
    ctx.hub = await startTestHub({ db: hubDb, env, redisUrl: ctx.redisProxy?.url, prefix: uniquePrefix('faults') });
    ctx.ledger = new Ledger();
  });
  after(async () => {
    ctx.pg?.pass();
    ctx.redisProxy?.pass();
    await ctx.hub?.stop().catch(() => {});
    await hubDb?.destroy().catch(() => {});
    await ctx.pg?.close();
    await ctx.redisProxy?.close();
    await ctx.redis?.stop();
    await ctx.tdb?.drop();
  });
  return ctx;
}

/** The hub takes check-ins again by itself: polls with fresh check-ins until one is acknowledged. */
function recovered(d: Drill, employeeId: string): Promise<Answer> {
  return eventually(
    async () => {
      const a = await d.ledger.checkin(d.hub, { employeeId, type: 'toggle' });
      return acknowledged(a) ? a : undefined;
    },
    RECOVERY_MS,
    'a check-in to be acknowledged again',
  );
}

/**
 * A raw HTTP/1.1 exchange for clients that misbehave: `talk` writes what it likes; the answer is
 * whatever comes back until a whole response has arrived, the server closes, or limitMs passes.
 */
function rawHttp(port: number, talk: (socket: net.Socket) => void, limitMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      let body: any;
      try {
        body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      } catch {
        body = undefined;
      }
      const retryAfter = /\r\nretry-after: *([^\r]*)/i.exec(text)?.[1] ?? null;
      resolve({ what: 'raw', status, code: body?.error?.code, retryAfter, ms: performance.now() - started, body, closed });
    };
    const timer = setTimeout(() => finish(false), limitMs);
    socket.once('connect', () => talk(socket));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(all.subarray(0, end).toString())?.[1];
      if (end >= 0 && length !== undefined && all.length >= end + 4 + Number(length)) finish(false);
    });
    socket.on('error', () => {}); // 'close' follows
    // The server closed its side (the socket is half-open, so 'close' waits for ours).
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

describe('faults', function () {
  this.timeout(60_000);

  // A rejection nobody handles ends a real hub process; mocha would only swallow it.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));
  const checkNoUnhandled = (expect: Expectations) =>
    expect.check(unhandled.length === 0, `unhandled rejections: ${unhandled.map((r) => String((r as Error)?.message ?? r)).join('; ')}`);

  describe('PostgreSQL frozen under concurrent check-ins', function () {
    const d = useDrill({ employees: ids('A', 20) });

    it('answers each check-in within the bound (acknowledged or 503 unavailable), recovers by itself, stores exactly what it acknowledged', async () => {
      const expect = new Expectations();
      assert.equal((await d.ledger.checkin(d.hub, { employeeId: 'A0', type: 'toggle' })).status, 201);

      d.pg.stall();
      const during = await holdFault(PG_FREEZE_MS, () => d.pg.pass(), (frozen) =>
        load(20, 12, frozen, (w) => d.ledger.checkin(d.hub, { employeeId: `A${w}`, type: 'toggle' })),
      );
      expect.answers(during, PG_BOUND_MS, (a) => acknowledged(a) || unavailable(a), 'check-ins while PostgreSQL is frozen');
      expect.check(during.some(unavailable), 'not one check-in was answered 503 while PostgreSQL was frozen');

      await recovered(d, 'A0');
      await d.ledger.settle(d.hub, expect);
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });
  });

  describe('PostgreSQL down, then back', function () {
    const d = useDrill({ employees: ids('B', 10) });
    const reads = ['/api/v1/presence?siteId=S2', '/api/v1/checkins?employeeId=B0', '/api/v1/employees'];

    it('answers check-ins within the bound, reads and health with a fast 503, and recovers by itself', async () => {
      const expect = new Expectations();
      assert.equal((await d.ledger.checkin(d.hub, { employeeId: 'B0', type: 'toggle' })).status, 201);

      d.pg.cut();
      const [checkins, probes, health] = await holdFault(PG_OUTAGE_MS, () => d.pg.pass(), (down) =>
        Promise.all([
          load(10, 10, down, (w) => d.ledger.checkin(d.hub, { employeeId: `B${w}`, type: 'toggle' })),
          // Presence of S2 was never read, so no cache can answer for the database.
          Promise.all(reads.map((path) => send(d.hub, 'GET', path))),
          send(d.hub, 'GET', '/api/v1/attendance/health'),
        ]),
      );
      expect.answers(checkins, PG_BOUND_MS, (a) => acknowledged(a) || unavailable(a), 'check-ins while PostgreSQL is down');
      expect.check(checkins.some(unavailable), 'not one check-in was answered 503 while PostgreSQL was down');
      expect.answers(probes, DOWN_READ_BOUND_MS, unavailable, 'reads while PostgreSQL is down');
      expect.answers([health], DOWN_READ_BOUND_MS, (a) => a.status === 503, 'health while PostgreSQL is down');

      await recovered(d, 'B0');
      for (const path of [...reads, '/api/v1/attendance/health']) {
        await eventually(async () => ((await send(d.hub, 'GET', path)).status === 200 ? true : undefined), RECOVERY_MS, `GET ${path} to answer 200 again`);
      }
      await d.ledger.settle(d.hub, expect);
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });
  });

  describe('Redis stopped, then frozen', function () {
    const d = useDrill({ employees: [...ids('C', 8), ...ids('L', 8), ...ids('R', 4)], env: { REDIS_COMMAND_TIMEOUT_MS: '300' }, redis: true });
    let round = 0;

    const detail = () => send(d.hub, 'GET', '/api/v1/attendance/health/detail');
    // Each writer keeps to one kind of request and its own employee or record.
    const kinds = [
      (w: number) => d.ledger.checkin(d.hub, { employeeId: `C${w}`, type: 'toggle' }),
      () => send(d.hub, 'GET', '/api/v1/presence?siteId=S1'),
      (w: number) => send(d.hub, 'GET', `/api/v1/attendance/search?id=L${w}`),
      (w: number) => send(d.hub, 'POST', '/api/v1/attendance/create', rawJson({ id: `L${w}`, name: `L${w}`, status: 'present', date: '2026-11-27' })),
    ];
    const served = (a: Answer) => (a.what === 'POST /api/v1/checkins' ? a.status === 201 : a.status === 200);
    const redisDown = (a: Answer) => a.body?.redis === 'down';
    const degraded = (a: Answer) => a.status === 200 && a.body?.redis === 'down' && a.body?.status === 'degraded';

    /** Back to normal: health is up, and a write's invalidation reaches the cache (a fresh read shows it). */
    async function worksNormally(expect: Expectations) {
      await eventually(async () => ((await detail()).body?.redis === 'up' ? true : undefined), RECOVERY_MS, 'Redis to be up again');
      const health = await detail();
      expect.check(health.status === 200 && health.body?.status === 'up', `health/detail after Redis is back: ${health.status} ${JSON.stringify(health.body)}`);
      const n = round++;
      const employeeId = `R${n}`;
      const date = `2026-12-0${n + 1}`;
      expect.check((await d.ledger.checkin(d.hub, { employeeId, type: 'in' })).status === 201, 'a check-in after Redis is back');
      const presence = await send(d.hub, 'GET', '/api/v1/presence?siteId=S1');
      expect.check(presence.body?.data?.some((p: { employeeId: string }) => p.employeeId === employeeId), `presence after Redis is back misses ${employeeId}`);
      const create = await send(d.hub, 'POST', '/api/v1/attendance/create', rawJson({ id: 'L0', name: 'L0', status: 'present', date }));
      expect.check(create.status === 200, `create after Redis is back: ${create.status}`);
      const search = await send(d.hub, 'GET', '/api/v1/attendance/search?id=L0');
      expect.check(search.body?.date === date, `search after Redis is back shows ${JSON.stringify(search.body)}, not the record of ${date}`);
    }

    it('keeps serving check-ins, presence and the older API while Redis is stopped, and reports degraded health', async () => {
      const expect = new Expectations();
      for (const w of [0, 1, 2, 3, 4, 5, 6, 7]) assert.equal((await kinds[3]!(w)).status, 200, 'the older API creates before the fault');
      await d.redis!.stop();
      const health = await eventually(async () => {
        const a = await detail();
        return redisDown(a) ? a : undefined;
      }, RECOVERY_MS, 'the hub to see Redis down');
      expect.answers([health], REDIS_BOUND_MS, degraded, 'health/detail while Redis is stopped');
      const answers = await load(8, 3, () => true, (w) => kinds[w % 4]!(w));
      expect.answers(answers, REDIS_BOUND_MS, served, 'requests while Redis is stopped');

      await d.redis!.start();
      await worksNormally(expect);
      await d.ledger.settle(d.hub, expect);
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });

    it('keeps serving them within a couple of seconds while Redis is frozen, not for the length of the freeze', async () => {
      const expect = new Expectations();
      d.redisProxy!.stall();
      const [answers, health] = await holdFault(REDIS_FREEZE_MS, () => d.redisProxy!.pass(), (frozen) =>
        Promise.all([load(8, 6, frozen, (w) => kinds[w % 4]!(w)), load(1, 3, frozen, detail)]),
      );
      expect.answers(answers, REDIS_BOUND_MS, served, 'requests while Redis is frozen');
      expect.check(health.some(redisDown), `health/detail never saw the frozen Redis as down: ${summary(health)}`);
      expect.answers(health.filter(redisDown), REDIS_BOUND_MS, degraded, 'health/detail while Redis is frozen');

      await worksNormally(expect);
      await d.ledger.settle(d.hub, expect);
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });
  });

  describe('poison mixed into concurrent load', function () {
    const d = useDrill({ employees: [...ids('V', 600), ...ids('P', 20), ...ids('Q', 6), ...ids('K', 15)] });
    const BOUND_MS = 5000;
    const poisonous = (a: Answer) => a.status === 400 && a.code === 'validation_failed';

    it('stores every valid check-in and refuses every poison one (a lone surrogate) with 400, over REST', async () => {
      const expect = new Expectations();
      // Half the poison names an employee that cannot exist; half names a real one and poisons deviceId.
      const poison = ids('P', 20).map((id, i): Record<string, string> =>
        i < 10 ? { employeeId: `${id}${LONE}`, type: 'in' } : { employeeId: id, type: 'in', deviceId: `kiosk-${LONE}` },
      );
      const valid: Array<Record<string, string>> = ids('V', 600).map((employeeId) => ({ employeeId, type: 'in' }));
      const mixed = valid.flatMap((punch, i) => (i % 30 === 0 ? [poison[i / 30]!, punch] : [punch]));
      const answers = await Promise.all(mixed.map((fields) => d.ledger.checkin(d.hub, fields)));
      const isPoison = (i: number) => rawJson(mixed[i]).includes('\\ud800');
      expect.answers(answers.filter((_, i) => !isPoison(i)), BOUND_MS, (a) => a.status === 201, 'valid check-ins among poison');
      expect.answers(answers.filter((_, i) => isPoison(i)), BOUND_MS, poisonous, 'poison check-ins');

      await d.ledger.settle(d.hub, expect);
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });

    it('stores the valid items of a batch and rejects its poison item', async () => {
      const expect = new Expectations();
      const punches = ids('Q', 6).map((employeeId, i) => ({ employeeId, type: 'in', eventId: randomUUID(), ...(i === 3 ? { deviceId: `kiosk-${LONE}` } : {}) }));
      const answer = await send(d.hub, 'POST', '/api/v1/checkins/batch', rawJson({ punches }));
      expect.answers([answer], BOUND_MS, (a) => a.status === 200, 'a batch with one poison item');
      punches.forEach((p, i) => {
        const item = answer.body?.data?.[i];
        if (i === 3) {
          d.ledger.reject(p.eventId);
          expect.check(item?.status === 'rejected' && item.error?.code === 'validation_failed', `the poison item: ${JSON.stringify(item)}`);
        } else if (item?.status === 'created') d.ledger.ack(p.eventId);
        else {
          d.ledger.reject(p.eventId);
          expect.check(false, `valid item ${i}: ${JSON.stringify(item ?? answer.body)}`);
        }
      });
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });

    it('does the same for socket check-ins (socket.io-client defaults)', async () => {
      const expect = new Expectations();
      const socket = connectSocket(d.hub.url, { auth: { token: d.hub.adminToken } });
      try {
        await new Promise((resolve, reject) => socket.once('connect', () => resolve(undefined)).once('connect_error', reject));
        const punches = ids('K', 15).map((employeeId, i) => ({
          employeeId: i === 12 ? `${employeeId}${LONE}` : employeeId,
          type: 'in',
          eventId: randomUUID(),
          ...(i > 12 ? { deviceId: `kiosk-${LONE}` } : {}),
        }));
        const acks = await Promise.all(
          punches.map(async (p) => {
            const started = performance.now();
            // JSON.parse turns the escape into a real lone surrogate, which socket.io sends escaped again.
            const payload = JSON.parse(rawJson(p));
            const ack = await socket.timeout(BOUND_MS).emitWithAck('checkin', payload).catch((err: Error) => ({ ok: false, error: { code: `no ack: ${err.message}` } }));
            return { ack, ms: performance.now() - started };
          }),
        );
        punches.forEach((p, i) => {
          const { ack, ms } = acks[i]!;
          const answer: Answer = { what: 'socket checkin', status: ack.ok ? 201 : 400, code: ack.error?.code, retryAfter: null, ms, body: ack };
          if (i < 12) {
            expect.answers([answer], BOUND_MS, (a) => a.status === 201, 'valid socket check-ins among poison');
            if (ack.ok) d.ledger.ack(ack.data.eventId);
            else d.ledger.reject(p.eventId);
          } else {
            expect.answers([answer], BOUND_MS, poisonous, 'poison socket check-ins');
            d.ledger.reject(p.eventId);
          }
        });
      } finally {
        socket.close();
      }
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });
  });

  describe('slow and truncated requests', function () {
    const d = useDrill({
      employees: ids('T', 2),
      env: { BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS), HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), HTTP_REQUEST_TIMEOUT_MS: '5000' },
    });
    const head = (length: number) =>
      `POST /api/v1/checkins HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${d.hub.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

    it('answers a body that never comes with 408 request_timeout, within the body timeout', async () => {
      const expect = new Expectations();
      const answer = await rawHttp(d.hub.port, (s) => s.write(head(100)), BODY_TIMEOUT_MS + SLACK_MS + 2000);
      expect.answers([answer], BODY_TIMEOUT_MS + SLACK_MS, (a) => a.status === 408 && a.code === 'request_timeout', 'a body that never comes');
      expect.done();
    });

    it('answers a truncated body that the client half-closes with a 400 or a clean close, never a 5xx or a hang', async () => {
      const expect = new Expectations();
      const eventId = randomUUID();
      const partial = `{"employeeId":"T0","type":"in","eventId":"${eventId}"`;
      const answer = await rawHttp(d.hub.port, (s) => s.end(head(partial.length + 40) + partial), BODY_TIMEOUT_MS + SLACK_MS + 2000);
      d.ledger.reject(eventId);
      expect.answers([answer], BODY_TIMEOUT_MS + SLACK_MS, (a) => a.status === 400 || (a.status === 0 && !!a.closed), 'a truncated, half-closed body');
      await d.ledger.checkStored(d.tdb.db, expect);
      expect.done();
    });

    it('closes a connection whose headers never finish, within the headers timeout', async () => {
      const expect = new Expectations();
      const answer = await rawHttp(d.hub.port, (s) => s.write('GET /api/v1/employees HTTP/1.1\r\nHost: 127.0.0.1\r\n'), HEADERS_TIMEOUT_MS + SLACK_MS + 2000);
      expect.answers([answer], HEADERS_TIMEOUT_MS + SLACK_MS, (a) => !!a.closed || a.status === 408, 'headers that never finish');
      expect.done();
    });

    it('is still serving afterwards', async () => {
      const expect = new Expectations();
      expect.check((await send(d.hub, 'GET', '/api/v1/employees')).status === 200, 'GET /api/v1/employees');
      expect.check((await d.ledger.checkin(d.hub, { employeeId: 'T1', type: 'in' })).status === 201, 'a check-in');
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });
  });

  describe('a connection flood', function () {
    const MAX_CONNECTIONS = 50;
    const d = useDrill({ employees: ids('F', 1), env: { MAX_CONNECTIONS: String(MAX_CONNECTIONS) } });

    it('refuses a request beyond MAX_CONNECTIONS with 503 overloaded, and serves again once the flood is gone', async () => {
      const expect = new Expectations();
      const flood = await Promise.all(
        Array.from({ length: MAX_CONNECTIONS + 10 }, () => {
          const s = net.connect({ port: d.hub.port, host: '127.0.0.1' });
          s.on('error', () => {});
          return new Promise<net.Socket>((resolve) => s.once('connect', () => resolve(s)).once('close', () => resolve(s)));
        }),
      );
      try {
        const eventId = randomUUID();
        const text = rawJson({ employeeId: 'F0', type: 'toggle', eventId });
        const answer = await rawHttp(
          d.hub.port,
          (s) => s.write(`POST /api/v1/checkins HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${d.hub.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`),
          5000,
        );
        d.ledger.note(eventId, text, answer);
        expect.answers([answer], 2000, (a) => a.status === 503 && a.code === 'overloaded', 'a request beyond MAX_CONNECTIONS');
      } finally {
        flood.forEach((s) => s.destroy());
      }
      await recovered(d, 'F0');
      await d.ledger.settle(d.hub, expect);
      await d.ledger.checkStored(d.tdb.db, expect);
      checkNoUnhandled(expect);
      expect.done();
    });
  });
});
