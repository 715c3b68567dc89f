/**
 * Ingest benchmark (`npm run bench:ingest`): the hub's check-in path against raw single-row INSERT
 * transactions, on real PostgreSQL, in one run.
 *
 *   1. throughput   autocannon, fixed concurrency, distinct `toggle` check-ins → check-ins/s, p50/p99,
 *      and raw      the same concurrency of pg clients looping BEGIN; INSERT one row; COMMIT → rows/s,
 *                   in alternating slices, so both see the same machine (it is shared and its load drifts)
 *   3. 1,000/s      autocannon overallRate → achieved rate, p50/p99
 *   4. paced        an open-loop 1,000/s cross-check (see runPaced for why)
 *
 * Then the database must hold every acknowledged check-in, under gapless seqs. The hub runs as a child
 * process so the load generator never shares its event loop. Exit 1 only when the run is invalid
 * (an error response, a lost or stray check-in, a seq gap); missed targets are printed, not thrown.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { migrate } from '../server/db/liquibase.js';
import { queryOnce, withDatabase } from '../server/db/admin.js';
import { freePort, httpStatus, machineTicks, procTicks, removeRedisKeys, sleep, ticksBetween, ticksByName, TICKS_PER_SEC } from './support.js';

// ---- autocannon (CommonJS, no bundled types: the few parts used here) ----

type AcContext = { eventId?: string };
type AcRequest = {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AcRequest, context: AcContext) => AcRequest;
  onResponse?: (status: number, body: string, context: AcContext) => void;
};
type AcResult = {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
};
type AcInstance = EventEmitter & PromiseLike<AcResult>;
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  ignoreCoordinatedOmission?: boolean;
  timeout?: number;
  requests: AcRequest[];
}) => AcInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

// ---- options ----

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    employees: { type: 'string', default: '5000' },
    redis: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench:ingest -- [--connections 32] [--duration 15] [--rounds 5] [--warmup 3] [--rate 1000] [--employees 5000] [--redis]
DATABASE_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres); a database hub_bench_<pid> is created and dropped
REDIS_URL     when set (or --redis given: REDIS_URL, else redis://127.0.0.1:6379) the hub runs with Redis; otherwise single node, so the DB path is measured`);
  process.exit(0);
}
const positive = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};
const CONNECTIONS = Math.round(positive('connections', flags.connections));
const DURATION = positive('duration', flags.duration);
// Hub and raw each run DURATION seconds in all, split into ROUNDS slices that alternate.
const ROUNDS = Math.round(positive('rounds', flags.rounds));
const WARMUP = Number(flags.warmup) || 0;
const RATE = positive('rate', flags.rate);
const EMPLOYEES = Math.round(positive('employees', flags.employees));
const SITES = 10;
const P99_TARGET_MS = 50;
// REDIS_URL in the environment, or `--redis` for it or else the machine's Redis.
const REDIS_URL = process.env.REDIS_URL || (flags.redis ? 'redis://127.0.0.1:6379' : undefined);

const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = `hub_bench_${process.pid}`;
// The hub's cache keys, when it runs with Redis: its own, removed at the end.
const REDIS_PREFIX = `bench-ingest-${process.pid}`;
const DB_URL = withDatabase(ADMIN_URL, DB_NAME);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const started = performance.now();
const say = (msg: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

// ---- small helpers ----

/** Exact percentiles of a sample (ms). */
function percentiles(samples: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! : NaN);
  return { p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1]! : NaN, n: s.length };
}

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
const perSec = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;

// ---- CPU accounting (Linux /proc; silently empty elsewhere) ----

type CpuSnap = { t: number; hub: number; pg: Map<number, number>; self: NodeJS.CpuUsage; machine: { busy: number; total: number } };
const cpuSnap = (hubPid: number): CpuSnap => ({
  t: performance.now(),
  hub: procTicks(hubPid),
  pg: ticksByName('postgres'),
  self: process.cpuUsage(),
  machine: machineTicks(),
});

/** CPU seconds each party used between two snapshots; `others` is neither the hub, this process nor PostgreSQL. */
type CpuUse = { secs: number; hub: number; self: number; pg: number; others: number; machineBusy: number | null };

function cpuUse(a: CpuSnap, b: CpuSnap): CpuUse {
  const mTotal = b.machine.total - a.machine.total;
  const mBusy = b.machine.busy - a.machine.busy;
  const hub = (b.hub - a.hub) / TICKS_PER_SEC;
  const self = (b.self.user - a.self.user + (b.self.system - a.self.system)) / 1e6;
  const pg = ticksBetween(a.pg, b.pg) / TICKS_PER_SEC;
  return {
    secs: (b.t - a.t) / 1000,
    hub,
    self,
    pg,
    // Other people's work on a shared machine.
    others: Math.max(0, mBusy / TICKS_PER_SEC - hub - pg - self),
    machineBusy: mTotal ? mBusy / mTotal : null,
  };
}

/** CPU used, as % of one core (the machine's as % of all cores). */
function cpuLine(u: CpuUse, selfLabel: string, hubLabel = 'hub'): string {
  const core = (cpuSecs: number) => `${Math.round((cpuSecs / u.secs) * 100)}%`;
  const machine = u.machineBusy === null ? 'n/a' : `${Math.round(u.machineBusy * 100)}% of ${os.cpus().length} cores`;
  return (
    `CPU (% of one core): ${hubLabel} ${core(u.hub)}, ${selfLabel} ${core(u.self)}, ` +
    `postgres (all backends) ${core(u.pg)}, everything else ${u.machineBusy === null ? 'n/a' : core(u.others)}; machine busy ${machine}`
  );
}

// ---- the database ----

async function createBenchDatabase(): Promise<void> {
  say(`creating database ${DB_NAME}`);
  await queryOnce(ADMIN_URL, `DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await queryOnce(ADMIN_URL, `CREATE DATABASE ${DB_NAME}`);
  say('migrating it with Liquibase (a cold update takes a few seconds)');
  await migrate(DB_URL, pino({ level: 'warn' }));
  say(`seeding ${SITES} sites and ${EMPLOYEES.toLocaleString('en-US')} employees`);
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO sites (id, name) SELECT 'S' || lpad(g::text, 2, '0'), 'Site ' || g FROM generate_series(1, $1::int) g`,
      [SITES],
    );
    await client.query(
      `INSERT INTO employees (id, name, site_id)
       SELECT 'E' || lpad(g::text, 6, '0'), 'Employee ' || g, 'S' || lpad((1 + g % $2::int)::text, 2, '0')
       FROM generate_series(1, $1::int) g`,
      [EMPLOYEES, SITES],
    );
    await client.query(
      `CREATE TABLE raw_checkins (
         id bigserial PRIMARY KEY, event_id uuid NOT NULL, employee_id text NOT NULL, type text NOT NULL,
         occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`,
    );
    // Only the seeded tables: statistics taken while events and checkins are empty make the planner
    // treat them as empty for good, and a plan cached then scans them (measured with an earlier
    // schema: ~2 ms per inserted check-in at 30k events).
    await client.query('ANALYZE sites, employees');
  } finally {
    await client.end();
  }
}

async function dropBenchDatabase(): Promise<void> {
  await queryOnce(ADMIN_URL, `DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  say(`dropped database ${DB_NAME}`);
}

async function machineLine(): Promise<string> {
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  try {
    const setting = async (name: string) => (await client.query(`SHOW ${name}`)).rows[0][name] as string;
    const cpus = os.cpus();
    const mem = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
    return (
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${mem} RAM, ${os.type()} ${os.release()}, node ${process.version}, ` +
      `PostgreSQL ${await setting('server_version')} (synchronous_commit=${await setting('synchronous_commit')}, ` +
      `fsync=${await setting('fsync')}), load average at start ${os.loadavg()[0]!.toFixed(2)}`
    );
  } finally {
    await client.end();
  }
}

/**
 * What one transaction costs this machine with nothing else running: a bare round trip, and a
 * single-row INSERT committed on its own (one round trip and a WAL flush). Raw pays the commit for
 * every row and the hub once per group, so where the flush is slow the hub gains more from grouping.
 */
async function commitFloor(): Promise<string> {
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  try {
    const time = async (sql: string, params: unknown[] = []) => {
      const samples: number[] = [];
      for (let i = 0; i < 300; i++) {
        const start = performance.now();
        await client.query(sql, params);
        samples.push(performance.now() - start);
      }
      return Math.round(percentiles(samples.slice(50)).p50 * 1000);
    };
    const roundTrip = await time('SELECT 1');
    const commit = await time("INSERT INTO raw_checkins (event_id, employee_id, type, occurred_at) VALUES (gen_random_uuid(), 'floor', 'in', now())");
    await client.query("DELETE FROM raw_checkins WHERE employee_id = 'floor'");
    return `one client, before the hub starts: round trip p50 ${roundTrip} µs, single-row commit p50 ${commit} µs`;
  } finally {
    await client.end();
  }
}

/** Which hub was measured: the commit, and a reminder that the working tree is what actually ran. */
function codeLine(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `git HEAD ${sha} (the working tree as it is, uncommitted changes included)`;
  } catch {
    return 'not a git checkout';
  }
}

// ---- the hub, as a child process ----

type HubProcess = { url: string; child: ChildProcess; stop(): Promise<void> };

/** The hub's log lines, each distinct message shown once (a warning per commit would drown the figures). */
const hubLines = new Map<string, number>();
function hubLog(line: string): void {
  let key = line;
  try {
    const j = JSON.parse(line) as { level?: number; msg?: string };
    key = `${j.level ?? ''} ${j.msg ?? line}`;
  } catch {
    /* not JSON */
  }
  const seen = hubLines.get(key) ?? 0;
  hubLines.set(key, seen + 1);
  if (!seen) console.error(`[hub] ${line}`);
}

async function startHubProcess(): Promise<HubProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: DB_URL,
    MIGRATE_ON_START: 'false',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  delete env.REDIS_URL;
  if (REDIS_URL) Object.assign(env, { REDIS_URL, REDIS_PREFIX });
  say(`starting the hub (node --import tsx server/index.ts) on 127.0.0.1:${port}, ${REDIS_URL ? `with Redis ${REDIS_URL}` : 'without Redis (single node: the DB path is measured)'}`);
  // e.g. BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/hub-prof" to see where the hub's CPU goes.
  const nodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/index.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const forward = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) hubLog(line);
  };
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the hub exited with ${child.exitCode} before it was healthy:\n${tail}`);
    if ((await httpStatus(`${url}/api/v1/attendance/health`)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the hub was not healthy within 60 s:\n${tail}`);
    }
    await sleep(200);
  }
  say(`hub is healthy (pid ${child.pid})`);
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      say(`hub stopped (exit ${code})`);
    },
  };
}


// ---- load: shared bookkeeping for every check-in sent ----

const ledger = {
  sent: new Set<string>(),
  acked: new Set<string>(),
  nextEmployee: 0,
  /** A few error responses, to show what went wrong. */
  samples: [] as string[],
};

const employeeId = (i: number) => `E${String(1 + (i % EMPLOYEES)).padStart(6, '0')}`;

/** A distinct check-in: a fresh eventId, employees in turn, `toggle` so each punch is valid whatever the state. */
function nextCheckinBody(): { eventId: string; body: string } {
  const eventId = randomUUID();
  ledger.sent.add(eventId);
  return { eventId, body: JSON.stringify({ employeeId: employeeId(ledger.nextEmployee++), type: 'toggle', eventId }) };
}

function noteResponse(status: number, eventId: string | undefined, body: string): void {
  if (status === 201 && eventId) ledger.acked.add(eventId);
  else if (ledger.samples.length < 5) ledger.samples.push(`${status} ${body.slice(0, 200)}`);
}

type LoadResult = {
  label: string;
  seconds: number;
  created: number;
  statusCounts: Record<string, number>;
  non2xx: number;
  errors: number;
  latency: ReturnType<typeof percentiles>;
  samples: number[];
  seqRange: [number, number];
  groups: { count: number; mean: number; max: number } | null;
  cpu: CpuUse;
  /** What the load generator is called in the CPU line. */
  generator: string;
};

let autocannonRuns = 0;

async function runAutocannon(hub: HubProcess, label: string, seconds: number, overallRate?: number, quiet = false): Promise<LoadResult> {
  autocannonRuns++;
  if (!quiet) say(`${label}: autocannon, ${CONNECTIONS} connections, ${seconds} s${overallRate ? `, overallRate ${overallRate}/s` : ''}`);
  const headBefore = await seqHead();
  const before = cpuSnap(hub.child.pid!);
  const createdBefore = ledger.acked.size;
  const latencies: number[] = [];
  const instance = autocannon({
    url: hub.url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    // With a rate, autocannon's own histogram "corrects" for coordinated omission with a 1 ms interval
    // (ceil(1/rate)), weighting each response by its length in ms. The exact per-response samples
    // below are what is reported, and the achieved rate shows any shortfall.
    ...(overallRate ? { overallRate, ignoreCoordinatedOmission: true } : {}),
    requests: [
      {
        method: 'POST',
        path: '/api/v1/checkins',
        headers: { 'content-type': 'application/json' },
        setupRequest(req, context) {
          const { eventId, body } = nextCheckinBody();
          context.eventId = eventId;
          return { ...req, body };
        },
        onResponse(status, body, context) {
          noteResponse(status, context.eventId, body);
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
  const result = await instance;
  const after = cpuSnap(hub.child.pid!);
  await sleep(300); // requests cut off at the end may still commit; let them, so the seq range is whole
  const headAfter = await seqHead();
  const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]));
  const created = ledger.acked.size - createdBefore;
  return {
    label,
    seconds: result.duration,
    created,
    statusCounts,
    non2xx: result.non2xx,
    errors: result.errors,
    latency: percentiles(latencies),
    samples: latencies,
    seqRange: [headBefore + 1, headAfter],
    groups: await groupStats(headBefore + 1, headAfter),
    cpu: cpuUse(before, after),
    generator: 'autocannon',
  };
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to the earlier ones, and its latency
 * counts from that moment, so a stall shows up in full (no coordinated omission). autocannon's
 * overallRate is a per-connection budget per second: it fires each second's requests back to back
 * at full concurrency and then idles, which measures bursts rather than a steady 1,000/s.
 */
async function runPaced(hub: HubProcess, label: string, seconds: number, rate: number): Promise<LoadResult> {
  say(`${label}: open-loop ${rate}/s for ${seconds} s (node:http, keep-alive)`);
  const headBefore = await seqHead();
  const before = cpuSnap(hub.child.pid!);
  const createdBefore = ledger.acked.size;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const { port } = new URL(hub.url);
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  const total = Math.round(seconds * rate);
  const t0 = performance.now();

  const fire = (dueAt: number) =>
    new Promise<void>((resolve) => {
      const { eventId, body } = nextCheckinBody();
      const req = http.request(
        { agent, host: '127.0.0.1', port, method: 'POST', path: '/api/v1/checkins', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            latencies.push(performance.now() - dueAt);
            const status = res.statusCode ?? 0;
            statusCounts[status] = (statusCounts[status] ?? 0) + 1;
            noteResponse(status, eventId, text);
            resolve();
          });
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const pending: Promise<void>[] = [];
  let issued = 0;
  let answered = 0;
  let gaveUp = false;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      while (issued < due) pending.push(fire(t0 + (issued++ * 1000) / rate).then(() => void answered++));
      // Bounded: once 5 s of requests are waiting, the hub has fallen behind for good; stop adding.
      if (issued - answered > 5 * rate) {
        gaveUp = true;
        return resolve();
      }
      if (issued < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  if (gaveUp) say(`${label}: more than ${5 * rate} requests outstanding after ${issued} sent: the hub fell behind, stopped sending`);
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  const after = cpuSnap(hub.child.pid!);
  const headAfter = await seqHead();
  const non2xx = Object.entries(statusCounts).reduce((n, [k, v]) => n + (k.startsWith('2') ? 0 : v), 0);
  return {
    label,
    seconds: elapsed,
    created: ledger.acked.size - createdBefore,
    statusCounts,
    non2xx,
    errors,
    latency: percentiles(latencies),
    samples: latencies,
    seqRange: [headBefore + 1, headAfter],
    groups: await groupStats(headBefore + 1, headAfter),
    cpu: cpuUse(before, after),
    generator: 'load generator (this process)',
  };
}

let statsClient: pg.Client | null = null;
async function stats(): Promise<pg.Client> {
  if (!statsClient) {
    statsClient = new pg.Client({ connectionString: DB_URL });
    await statsClient.connect();
  }
  return statsClient;
}

async function seqHead(): Promise<number> {
  const { rows } = await (await stats()).query('SELECT value FROM event_seq WHERE id = 1');
  return Number(rows[0].value);
}

/**
 * How many transactions carried the phase's check-ins: the events of one transaction share now(), its
 * start time, which events.created_at defaults to. (A check-in may bring other events with it, such as
 * presence changes, so check-ins are counted, not seqs.)
 */
async function groupStats(from: number, to: number): Promise<LoadResult['groups']> {
  if (to < from) return null;
  const { rows } = await (await stats()).query(
    `SELECT count(*)::int AS groups, coalesce(sum(n), 0)::int AS checkins, coalesce(max(n), 0)::int AS max FROM
       (SELECT e.created_at, count(*) AS n FROM checkins c JOIN events e ON e.seq = c.seq
         WHERE c.seq BETWEEN $1 AND $2 GROUP BY e.created_at) g`,
    [from, to],
  );
  const count = Number(rows[0].groups);
  return count ? { count, mean: Number(rows[0].checkins) / count, max: Number(rows[0].max) } : null;
}

// ---- raw baseline ----

type RawResult = { seconds: number; rows: number; latency: ReturnType<typeof percentiles>; samples: number[]; cpu: CpuUse | null };

/** CONNECTIONS pg clients, each looping BEGIN; INSERT one row; COMMIT while a slice lasts. */
async function openRaw(hubPid: number) {
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const c = new pg.Client({ connectionString: DB_URL });
      await c.connect();
      return c;
    }),
  );
  let i = 0;
  let committedTotal = 0;
  /** Counts the transactions that began and committed inside the slice. */
  async function slice(seconds: number): Promise<RawResult> {
    const windowStart = performance.now();
    const windowEnd = windowStart + seconds * 1000;
    const latencies: number[] = [];
    const before = cpuSnap(hubPid);
    const worker = async (client: pg.Client, w: number) => {
      while (performance.now() < windowEnd) {
        const start = performance.now();
        const n = i++;
        await client.query('BEGIN');
        await client.query('INSERT INTO raw_checkins (event_id, employee_id, type, occurred_at) VALUES ($1, $2, $3, $4)', [
          randomUUID(),
          employeeId(w + n),
          n % 2 ? 'out' : 'in',
          new Date(),
        ]);
        await client.query('COMMIT');
        committedTotal++;
        const end = performance.now();
        if (end <= windowEnd) latencies.push(end - start);
      }
    };
    await Promise.all(clients.map(worker));
    // Before the next slice (or the end) lets the clients' backends go idle.
    const after = cpuSnap(hubPid);
    return { seconds, rows: latencies.length, latency: percentiles(latencies), samples: latencies, cpu: cpuUse(before, after) };
  }
  return { slice, committedTotal: () => committedTotal, close: () => Promise.all(clients.map((c) => c.end())) };
}

// ---- throughput against raw ----

const sumCpu = (parts: CpuUse[]): CpuUse => {
  const secs = parts.reduce((n, c) => n + c.secs, 0);
  const add = (k: 'hub' | 'self' | 'pg' | 'others') => parts.reduce((n, c) => n + c[k], 0);
  const busy = parts.every((c) => c.machineBusy !== null) ? parts.reduce((n, c) => n + c.machineBusy! * c.secs, 0) / secs : null;
  return { secs, hub: add('hub'), self: add('self'), pg: add('pg'), others: add('others'), machineBusy: busy };
};

function mergeLoads(label: string, parts: LoadResult[]): LoadResult {
  const samples = parts.flatMap((p) => p.samples);
  const statusCounts: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  const groups = parts.flatMap((p) => (p.groups ? [p.groups] : []));
  const groupCount = groups.reduce((n, g) => n + g.count, 0);
  return {
    label,
    seconds: parts.reduce((n, p) => n + p.seconds, 0),
    created: parts.reduce((n, p) => n + p.created, 0),
    statusCounts,
    non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    latency: percentiles(samples),
    samples,
    seqRange: [parts[0]!.seqRange[0], parts.at(-1)!.seqRange[1]],
    groups: groupCount
      ? { count: groupCount, mean: groups.reduce((n, g) => n + g.mean * g.count, 0) / groupCount, max: Math.max(...groups.map((g) => g.max)) }
      : null,
    cpu: sumCpu(parts.map((p) => p.cpu)),
    generator: parts[0]!.generator,
  };
}

/**
 * The hub and raw, DURATION seconds each, in ROUNDS slices that alternate (hub first in odd rounds, raw
 * first in even ones), so drifting load from others on the machine falls on both alike.
 */
async function runThroughput(hub: HubProcess): Promise<{ slices: LoadResult[]; hub: LoadResult; raw: RawResult; rounds: number[] }> {
  const seconds = DURATION / ROUNDS;
  say(`throughput: hub (autocannon) and raw (${CONNECTIONS} pg clients looping BEGIN; INSERT one row; COMMIT), ${CONNECTIONS} at a time, ${ROUNDS} alternating rounds of ${seconds} s each`);
  const raw = await openRaw(hub.child.pid!);
  const hubs: LoadResult[] = [];
  const raws: RawResult[] = [];
  const rounds: number[] = [];
  try {
    if (WARMUP > 0) await raw.slice(Math.min(WARMUP, 3));
    for (let r = 1; r <= ROUNDS; r++) {
      const runHub = () => runAutocannon(hub, `throughput ${r}/${ROUNDS}`, seconds, undefined, true);
      const runRaw = () => raw.slice(seconds);
      let h: LoadResult;
      let w: RawResult;
      if (r % 2) {
        h = await runHub();
        w = await runRaw();
      } else {
        w = await runRaw();
        h = await runHub();
      }
      hubs.push(h);
      raws.push(w);
      const [hr, wr] = [h.created / h.seconds, w.rows / w.seconds];
      rounds.push(hr / wr);
      say(`  round ${r}: hub ${perSec(hr)} (mean ${h.groups?.mean.toFixed(1) ?? '-'} per transaction), raw ${perSec(wr)}, ratio ${(hr / wr).toFixed(2)}`);
    }
  } finally {
    await raw.close();
  }
  const samples = raws.flatMap((w) => w.samples);
  const rawAll: RawResult = {
    seconds: raws.reduce((n, w) => n + w.seconds, 0),
    rows: samples.length,
    latency: percentiles(samples),
    samples,
    cpu: raws.every((w) => w.cpu) ? sumCpu(raws.map((w) => w.cpu!)) : null,
  };
  const { rows } = await (await stats()).query('SELECT count(*)::int AS n FROM raw_checkins');
  if (rows[0].n !== raw.committedTotal()) throw new Error(`raw_checkins has ${rows[0].n} rows but ${raw.committedTotal()} inserts committed`);
  return { slices: hubs, hub: mergeLoads('throughput', hubs), raw: rawAll, rounds };
}

// ---- verification ----

type Verdict = { ok: boolean; lines: string[] };

async function verify(load: LoadResult[]): Promise<Verdict> {
  const client = await stats();
  // seq is global to every event kind (a check-in may come with a presence change), so gaplessness is
  // checked on events; the check-ins are counted against the 201s.
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM checkins)::int AS checkins,
            (SELECT count(DISTINCT event_id) FROM checkins)::int AS distinct_ids,
            (SELECT min(seq) FROM checkins)::bigint AS cmin, (SELECT max(seq) FROM checkins)::bigint AS cmax,
            count(*)::int AS events, coalesce(min(seq), 0)::bigint AS min, coalesce(max(seq), 0)::bigint AS max,
            (SELECT value FROM event_seq WHERE id = 1)::bigint AS head,
            (SELECT count(*) FROM checkins c LEFT JOIN events e ON e.seq = c.seq
              WHERE e.seq IS NULL OR e.kind <> 'checkin.recorded')::int AS orphans
       FROM events`,
  );
  const r = rows[0];
  const [n, events, min, max, head, orphans] = [r.checkins, r.events, r.min, r.max, r.head, r.orphans].map(Number) as [number, number, number, number, number, number];
  const stored = new Set<string>((await client.query('SELECT event_id FROM checkins')).rows.map((x: { event_id: string }) => x.event_id));
  const acked = ledger.acked.size;
  const lost = [...ledger.acked].filter((id) => !stored.has(id)).length;
  const stray = [...stored].filter((id) => !ledger.sent.has(id)).length;
  const unacked = [...stored].filter((id) => !ledger.acked.has(id)).length;
  // autocannon hangs up when a phase ends; each connection may have one request on the wire then,
  // which the hub still commits (correctly) though nobody reads its 201.
  const cutOffLimit = CONNECTIONS * autocannonRuns;
  const gapless = events === 0 || (min === 1 && max === events && head === max);
  const badResponses = load.reduce((s, l) => s + l.non2xx + l.errors, 0); // warm-ups included
  const lines = [
    `check-ins in PostgreSQL: ${n.toLocaleString('en-US')} (seq ${r.cmin}..${r.cmax}, ${Number(r.distinct_ids).toLocaleString('en-US')} distinct eventIds, ${orphans} without their checkin.recorded event)`,
    `events: ${events.toLocaleString('en-US')}, seq ${min}..${max}, event_seq head ${head}: gapless ${gapless ? 'yes' : 'NO'}`,
    `201 responses read: ${acked.toLocaleString('en-US')}; every one stored: ${lost === 0 ? 'yes' : `NO, ${lost} missing`}`,
    `stored without a 201 read: ${unacked} (requests on the wire when autocannon hung up at a phase end; allowed ≤ ${cutOffLimit})`,
    `stored check-ins the bench never sent: ${stray}`,
    `error responses or socket errors in any phase (warm-ups too): ${badResponses}`,
  ];
  const ok =
    lost === 0 && stray === 0 && unacked <= cutOffLimit && n === acked + unacked && Number(r.distinct_ids) === n && orphans === 0 && gapless && badResponses === 0;
  return { ok, lines };
}

// ---- main ----

/**
 * The most check-ins/s this machine could take at the CPU each one cost in the throughput phase, if
 * every core were busy and nothing ever waited, against what raw achieved: the ratio cannot exceed it.
 */
function cpuCeiling(load: LoadResult, raw: RawResult, rawRate: number): string {
  if (!raw.cpu || load.cpu.machineBusy === null || !load.created) return 'n/a (no /proc CPU figures)';
  const us = (cpuSecs: number, n: number) => (cpuSecs / n) * 1e6;
  const [hub, gen, pg] = [us(load.cpu.hub, load.created), us(load.cpu.self, load.created), us(load.cpu.pg, load.created)];
  const rawCount = rawRate * raw.cpu.secs;
  const [rawClients, rawPg] = [us(raw.cpu.self, rawCount), us(raw.cpu.pg, rawCount)];
  const cores = os.cpus().length;
  const most = (cores * 1e6) / (hub + gen + pg);
  const f = (v: number) => `${Math.round(v)} µs`;
  return (
    `CPU per check-in: hub ${f(hub)} + ${load.generator} ${f(gen)} + PostgreSQL ${f(pg)} = ${f(hub + gen + pg)}; ` +
    `${cores} cores, all busy and never waiting, take at most ${perSec(most)} = ${(most / rawRate).toFixed(2)} of raw's ${perSec(rawRate)} ` +
    `(raw per insert: pg clients ${f(rawClients)} + PostgreSQL ${f(rawPg)} = ${f(rawClients + rawPg)})`
  );
}

function printLoad(l: LoadResult, target?: number) {
  const rate = l.created / l.seconds;
  say(
    `${l.label}: ${l.created.toLocaleString('en-US')} check-ins (201) in ${l.seconds.toFixed(2)} s = ${perSec(rate)}` +
      `${target ? ` (target ${perSec(target)})` : ''}; latency p50 ${ms(l.latency.p50)}, p99 ${ms(l.latency.p99)}, max ${ms(l.latency.max)}`,
  );
  say(`  statuses ${JSON.stringify(l.statusCounts)}; non-2xx ${l.non2xx}; errors ${l.errors}`);
  if (l.groups) say(`  transactions ${l.groups.count.toLocaleString('en-US')}, check-ins per transaction mean ${l.groups.mean.toFixed(1)}, max ${l.groups.max}`);
  say(`  ${cpuLine(l.cpu, l.generator)}`);
}

async function main(): Promise<number> {
  let hub: HubProcess | null = null;
  let created = false;
  const onSignal = () => {
    say('interrupted: cleaning up');
    void (async () => {
      await hub?.stop().catch(() => {});
      await statsClient?.end().catch(() => {});
      if (created) await dropBenchDatabase().catch(() => {});
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    created = true;
    await createBenchDatabase();
    const machine = await machineLine();
    say(`machine: ${machine}`);
    const code = codeLine();
    say(`code: ${code}`);
    const floor = await commitFloor();
    say(`floor: ${floor}`);
    hub = await startHubProcess();

    const load: LoadResult[] = [];
    if (WARMUP > 0) {
      const w = await runAutocannon(hub, 'warm-up', WARMUP);
      load.push(w);
      say(`warm-up: ${w.created} check-ins (${w.non2xx} non-2xx, ${w.errors} errors), not counted in the figures`);
    }
    const { slices, hub: throughput, raw, rounds } = await runThroughput(hub);
    load.push(...slices);
    printLoad(throughput);
    const rawRate = raw.rows / raw.seconds;
    say(`raw: ${raw.rows.toLocaleString('en-US')} single-row transactions in ${raw.seconds} s = ${perSec(rawRate)}; latency p50 ${ms(raw.latency.p50)}, p99 ${ms(raw.latency.p99)}, max ${ms(raw.latency.max)}`);
    say(`  ${raw.cpu ? cpuLine(raw.cpu, 'pg clients (this process)', 'hub (idle)') : 'CPU n/a'}`);

    if (WARMUP > 0) load.push(await runAutocannon(hub, 'warm-up', Math.min(WARMUP, 2), RATE));
    const fixed = await runAutocannon(hub, `fixed ${RATE}/s`, DURATION, RATE);
    load.push(fixed);
    printLoad(fixed, RATE);

    const paced = await runPaced(hub, `paced ${RATE}/s`, DURATION, RATE);
    load.push(paced);
    printLoad(paced, RATE);

    await hub.stop(); // drains: every check-in taken has committed or failed
    hub = null;
    const check = await verify(load);

    const ratio = throughput.created / throughput.seconds / rawRate;
    const fixedRate = fixed.created / fixed.seconds;
    const reachedRate = fixedRate >= RATE * 0.97;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    console.log('');
    console.log('== ingest benchmark ==');
    console.log(`command:  npm run bench:ingest -- --connections ${CONNECTIONS} --duration ${DURATION} --rounds ${ROUNDS} --rate ${RATE} (employees ${EMPLOYEES}, ${REDIS_URL ? 'Redis' : 'no Redis'})`);
    console.log(`machine:  ${machine}`);
    console.log(`code:     ${code}`);
    console.log(`floor:    ${floor}`);
    console.log(`hub:      ${perSec(throughput.created / throughput.seconds)} check-ins, p50 ${ms(throughput.latency.p50)}, p99 ${ms(throughput.latency.p99)} at ${CONNECTIONS} connections` +
      (throughput.groups ? ` (mean ${throughput.groups.mean.toFixed(1)} per transaction)` : ''));
    console.log(`raw:      ${perSec(rawRate)} single-row INSERT transactions, p50 ${ms(raw.latency.p50)}, p99 ${ms(raw.latency.p99)} at ${CONNECTIONS} clients`);
    console.log(`ratio:    hub/raw = ${ratio.toFixed(2)} (by round: ${rounds.map((r) => r.toFixed(2)).join(', ')})`);
    console.log(`ceiling:  ${cpuCeiling(throughput, raw, rawRate)}`);
    console.log(`fixed:    autocannon overallRate ${RATE}/s achieved ${perSec(fixedRate)}, p50 ${ms(fixed.latency.p50)}, p99 ${ms(fixed.latency.p99)}`);
    console.log(`paced:    open loop achieved ${perSec(paced.created / paced.seconds)}, p50 ${ms(paced.latency.p50)}, p99 ${ms(paced.latency.p99)} (from each request's due time)`);
    for (const line of check.lines) console.log(`db:       ${line}`);
    console.log(`${verdict(ratio >= 1)}  ratio hub/raw ≥ 1.0 (${ratio.toFixed(2)})`);
    console.log(`${verdict(reachedRate && fixed.latency.p99 <= P99_TARGET_MS)}  p99 ≤ ${P99_TARGET_MS} ms at ${RATE}/s, autocannon overallRate (p99 ${ms(fixed.latency.p99)}, achieved ${perSec(fixedRate)})`);
    console.log(`${verdict(paced.created / paced.seconds >= RATE * 0.97 && paced.latency.p99 <= P99_TARGET_MS)}  p99 ≤ ${P99_TARGET_MS} ms at ${RATE}/s, open-loop cross-check (p99 ${ms(paced.latency.p99)})`);
    console.log(`${verdict(check.ok)}  database holds exactly the acknowledged check-ins (plus cut-off ones), seqs gapless`);
    if (ledger.samples.length) console.log(`error response samples:\n  ${ledger.samples.join('\n  ')}`);
    for (const [line, count] of hubLines) if (count > 1) console.log(`hub log: ${count} × ${line.slice(0, 160)}`);
    return check.ok ? 0 : 1;
  } finally {
    await hub?.stop().catch((err: unknown) => say(`could not stop the hub: ${String(err)}`));
    await statsClient?.end().catch(() => {});
    if (created) await dropBenchDatabase().catch((err: unknown) => say(`could not drop ${DB_NAME}: ${String(err)}`));
    if (REDIS_URL) {
      await removeRedisKeys(REDIS_URL, REDIS_PREFIX).then(
        (n) => say(`removed ${n} Redis keys under ${REDIS_PREFIX}`),
        (err: unknown) => say(`could not remove the Redis keys under ${REDIS_PREFIX}: ${String(err)}`),
      );
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
