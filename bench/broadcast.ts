/**
 * Broadcast benchmark (`npm run bench:broadcast`): committed check-ins fanned out to live dashboards,
 * against plain Socket.IO doing the same fan-out, in one run.
 *
 *   default  two hub nodes (child processes, Redis adapter), 1,000 dashboard sockets spread over them,
 *            each subscribed to one of 10 sites; check-ins POSTed at 500/s for 30 s over both nodes →
 *            commit→receive latency p50/p95/p99, delivered/expected, RSS per connected socket.
 *            Baseline: two bare Socket.IO processes (same Redis adapter, same Redis, no hub) that
 *            broadcast the same two messages per check-in to the same sockets at the same rate.
 *   --idle   one hub node holding 10,000 idle subscribed sockets → RSS per socket; baseline: one bare
 *            Socket.IO process holding the same sockets.
 *
 * The sockets live in worker child processes (--workers) that send latency histograms back over IPC,
 * so the figures measure the servers rather than a client's event loop (whose delay is printed too).
 * Exit 1 only when the run is invalid (errors, failed connections) or a dashboard missed an event;
 * missed performance targets are printed, not thrown.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { queryOnce, withDatabase } from '../server/db/admin.js';
import { migrate } from '../server/db/liquibase.js';
import { createDashboardClient, type HubSocket } from '../shared/client.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/events.js';
import type { Checkin, PresenceChanged } from '../shared/schemas.js';
import {
  freePort,
  httpStatus,
  machineSummary,
  machineTicks,
  MsHistogram,
  procTicks,
  removeRedisKeys,
  rssKiB,
  sleep,
  TICKS_PER_SEC,
  ticksBetween,
  ticksByName,
} from './support.js';

const { values: flags } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    sockets: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    idle: { type: 'boolean', default: false },
    'idle-sockets': { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    employees: { type: 'string', default: '2000' },
    settle: { type: 'string', default: '10' },
    'commit-stamps': { type: 'boolean', default: false },
    // for --role bare (a child process)
    port: { type: 'string', default: '0' },
    prefix: { type: 'string', default: 'bench' },
    help: { type: 'boolean', default: false },
  },
});

const HELP = `npm run bench:broadcast -- [--sockets 1000] [--rate 500] [--duration 30] [--warmup 3] [--workers 2] [--employees 2000] [--settle 10]
npm run bench:broadcast -- --idle [--idle-sockets 10000] [--workers 2]
--commit-stamps  diagnostic: also measure from each transaction's commit (a deferred trigger in the bench database stamps it;
                 the hub's own recordedAt is the transaction's start)
DATABASE_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres); a database hub_bcast_<pid> is created and dropped
REDIS_URL     the Redis both the hub and the bare baseline use (default redis://127.0.0.1:6379); keys under bench-<pid> are removed after`;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const SITES = 10;
const P99_TARGET_MS = 50;
const RSS_TARGET_KIB = 25;

const positive = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};

const siteId = (i: number) => `S${String(1 + (i % SITES)).padStart(2, '0')}`;
/** Employee g (1-based) works at site S(1 + g % 10), as seeded below. */
const employeeOf = (k: number, employees: number) => {
  const g = 1 + (k % employees);
  return { employeeId: `E${String(g).padStart(6, '0')}`, siteId: siteId(g) };
};

// ============================================================================================
// Role: clients (a worker child process holding dashboard sockets)
// ============================================================================================

/** node: the index of the node the socket is on; check-ins carry the index of the node that took them as deviceId. */
type SocketSpec = { url: string; site: string; node: number };
const deviceOf = (node: number) => `bench-node-${node}`;
type SiteTally = { sockets: number; minCheckins: number; maxCheckins: number; checkins: number; minPresence: number; maxPresence: number; presence: number };
type ClientReport = {
  sockets: number;
  connected: number;
  perSite: Record<string, SiteTally>;
  /** checkin.recorded receive latency, for sockets on the node that took the check-in and on another node. */
  latencyLocal: Array<[number, number]>;
  latencyRemote: Array<[number, number]>;
  /** seq ≤ the previous seq on the same socket, as received on the wire (before the client library drops it). */
  wireNonIncreasing: number;
  disconnects: number;
  errors: string[];
  loopDelayMs: { p50: number; p99: number; max: number };
  rssKiB: number;
};
type ToWorker =
  | { id: number; op: 'connect'; kind: Kind; sockets: SocketSpec[]; concurrency: number }
  | { id: number; op: 'start'; fromSeq: number; keepSamples: boolean }
  | { id: number; op: 'fromCommit'; stamps: Array<[number, number]> }
  | { id: number; op: 'report' }
  | { id: number; op: 'close' };
type Kind = 'hub' | 'bare';
type WorkerRequest = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

async function clientsRole(): Promise<void> {
  type Conn = { site: string; device: string; checkins: number; presence: number; lastWire: number; close(): void; connected(): boolean };
  const conns: Conn[] = [];
  const local = new MsHistogram();
  const remote = new MsHistogram();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let fromSeq = Number.POSITIVE_INFINITY; // nothing counts until `start`
  let wireNonIncreasing = 0;
  let disconnects = 0;
  const errors: string[] = [];
  const note = (msg: string) => void (errors.length < 5 && errors.push(msg));

  // With --commit-stamps: every checkin.recorded delivery as (seq, receive time), matched to commit stamps at the end.
  let samples: { seq: Int32Array; at: Float64Array; n: number } | null = null;
  const keep = (seq: number, at: number) => {
    if (!samples) return;
    if (samples.n === samples.seq.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      samples.seq = grow(samples.seq, (n) => new Int32Array(n));
      samples.at = grow(samples.at, (n) => new Float64Array(n));
    }
    samples.seq[samples.n] = seq;
    samples.at[samples.n++] = at;
  };
  const onCheckin = (c: Conn, p: Checkin) => {
    if (p.seq <= fromSeq) return;
    c.checkins++;
    keep(p.seq, Date.now());
    // recordedAt: the hub's PostgreSQL now() at transaction start (bare: the emit), ms resolution.
    (p.deviceId === c.device ? local : remote).add(Date.now() - Date.parse(p.recordedAt));
  };
  const onPresence = (c: Conn, p: PresenceChanged) => {
    if (p.seq > fromSeq) c.presence++;
  };
  const onWire = (c: Conn, seq: number) => {
    if (seq > c.lastWire) c.lastWire = seq;
    else if (seq > fromSeq) wireNonIncreasing++;
  };
  const watch = (socket: HubSocket, c: Conn) => {
    socket.on('events', (batch) => {
      for (const e of batch) onWire(c, e.payload.seq);
    });
    socket.on('disconnect', () => disconnects++);
  };

  function open(kind: Kind, spec: SocketSpec): Promise<void> {
    return new Promise((resolve, reject) => {
      const c: Conn = { site: spec.site, device: deviceOf(spec.node), checkins: 0, presence: 0, lastWire: 0, close: () => {}, connected: () => false };
      let done = false;
      const timer = setTimeout(() => finish(new Error(`not subscribed within 60 s (${spec.url})`)), 60_000);
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const settings = { transports: ['websocket'], forceNew: true };
      if (kind === 'hub') {
        const client = createDashboardClient({
          url: spec.url,
          sites: [spec.site],
          socket: settings,
          onEvent: (e) => (e.name === 'checkin.recorded' ? onCheckin(c, e.payload) : e.name === 'presence.changed' ? onPresence(c, e.payload) : undefined),
          onSubscribed: () => finish(),
          onError: (e) => note(`subscribe: ${e.code} ${e.message}`),
        });
        watch(client.socket, c);
        client.socket.on('connect_error', (err) => note(`connect_error: ${err.message}`));
        c.close = () => client.close();
        c.connected = () => client.socket.connected;
      } else {
        const socket: HubSocket = ioClient(spec.url, settings);
        socket.on('connect', () =>
          socket.emit('subscribe', { sites: [spec.site] }, (ack) => (ack.ok ? finish() : note(`subscribe: ${ack.error.code}`))),
        );
        socket.on('events', (batch) => {
          for (const e of batch) {
            if (e.name === 'checkin.recorded') onCheckin(c, e.payload);
            else if (e.name === 'presence.changed') onPresence(c, e.payload);
          }
        });
        watch(socket, c);
        socket.on('connect_error', (err) => note(`connect_error: ${err.message}`));
        c.close = () => void socket.close();
        c.connected = () => socket.connected;
      }
      conns.push(c);
    });
  }

  const reply = (msg: object) => process.send!(msg);
  process.on('message', (raw) => {
    const msg = raw as ToWorker;
    void (async () => {
      if (msg.op === 'connect') {
        const t0 = performance.now();
        let next = 0;
        let failed = 0;
        await Promise.all(
          Array.from({ length: Math.min(msg.concurrency, msg.sockets.length) }, async () => {
            while (next < msg.sockets.length) {
              const spec = msg.sockets[next++]!;
              await open(msg.kind, spec).catch((err: Error) => {
                failed++;
                note(err.message);
              });
            }
          }),
        );
        reply({ id: msg.id, connected: msg.sockets.length - failed, failed, ms: performance.now() - t0, errors });
      } else if (msg.op === 'start') {
        fromSeq = msg.fromSeq;
        samples = msg.keepSamples ? { seq: new Int32Array(1 << 16), at: new Float64Array(1 << 16), n: 0 } : null;
        for (const c of conns) c.checkins = c.presence = 0;
        local.reset();
        remote.reset();
        wireNonIncreasing = 0;
        disconnects = 0;
        loop.reset();
        reply({ id: msg.id });
      } else if (msg.op === 'fromCommit') {
        const stamp = new Map(msg.stamps);
        const h = new MsHistogram();
        let unmatched = 0;
        for (let i = 0; i < (samples?.n ?? 0); i++) {
          const at = stamp.get(samples!.seq[i]!);
          if (at === undefined) unmatched++;
          else h.add(samples!.at[i]! - at);
        }
        reply({ id: msg.id, latency: h.entries(), unmatched });
      } else if (msg.op === 'report') {
        const perSite: Record<string, SiteTally> = {};
        for (const c of conns) {
          const t = (perSite[c.site] ??= { sockets: 0, minCheckins: Infinity, maxCheckins: 0, checkins: 0, minPresence: Infinity, maxPresence: 0, presence: 0 });
          t.sockets++;
          t.checkins += c.checkins;
          t.presence += c.presence;
          t.minCheckins = Math.min(t.minCheckins, c.checkins);
          t.maxCheckins = Math.max(t.maxCheckins, c.checkins);
          t.minPresence = Math.min(t.minPresence, c.presence);
          t.maxPresence = Math.max(t.maxPresence, c.presence);
        }
        const report: ClientReport = {
          sockets: conns.length,
          connected: conns.filter((c) => c.connected()).length,
          perSite,
          latencyLocal: local.entries(),
          latencyRemote: remote.entries(),
          wireNonIncreasing,
          disconnects,
          errors,
          loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
          rssKiB: rssKiB(process.pid),
        };
        reply({ id: msg.id, report });
      } else if (msg.op === 'close') {
        for (const c of conns) c.close();
        reply({ id: msg.id });
        setTimeout(() => process.exit(0), 200);
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  reply({ ready: true });
}

// ============================================================================================
// Role: bare (plain Socket.IO with the Redis adapter, no hub: the baseline)
// ============================================================================================

async function bareRole(): Promise<void> {
  /** What this node broadcast: [n, site] per check-in, so expectations hold even for requests the load generator gave up on. */
  const emitted: Array<[number, string]> = [];
  const pub = new Redis(REDIS_URL);
  const sub = pub.duplicate();
  // Added before Socket.IO attaches, so Socket.IO passes on whatever is not its own.
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') return void res.end('ok');
    if (req.method !== 'POST' || req.url !== '/emit') {
      res.statusCode = 404;
      return void res.end();
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      const { n, siteId: site, employeeId, deviceId } = JSON.parse(text) as { n: number; siteId: string; employeeId: string; deviceId: string };
      // The same two events the hub sends per toggle, in one message as the hub sends them, stamped at
      // the emit as the hub stamps at its transaction. (Not grouped across check-ins: no commit groups here.)
      const now = new Date().toISOString();
      const room = `site:${site}`;
      io.to(room).emit('events', [
        { name: 'checkin.recorded', payload: { seq: 2 * n - 1, eventId: randomUUID(), employeeId, siteId: site, deviceId, type: 'in', occurredAt: now, recordedAt: now } },
        { name: 'presence.changed', payload: { seq: 2 * n, siteId: site, employeeId, present: true, since: now } },
      ]);
      emitted.push([n, site]);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { siteId: site } }));
    });
  });
  // Socket.IO's defaults; only the per-run key differs.
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(server, { serveClient: false });
  io.adapter(createAdapter(pub, sub, { key: `${flags.prefix}:socket.io` }));
  io.on('connection', (socket) => {
    socket.on('subscribe', (request, ack) => {
      void socket.join((request?.sites ?? []).map((s) => `site:${s}`));
      if (typeof ack === 'function') ack({ ok: true, seq: 0, presence: {} });
    });
  });
  await new Promise<void>((resolve) => server.listen(Number(flags.port), '127.0.0.1', () => resolve()));
  const stop = () => {
    io.close();
    void Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.on('message', (msg: { op: 'emitted'; fromN: number }) => {
    const bySite: Record<string, number> = {};
    for (const [n, site] of emitted) if (n > msg.fromN) bySite[site] = (bySite[site] ?? 0) + 1;
    process.send!({ emitted: bySite });
  });
}

// ============================================================================================
// Role: main
// ============================================================================================

const started = performance.now();
const say = (msg: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
const num = (v: number) => v.toLocaleString('en-US');
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : 'n/a');
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch((err: unknown) => say(`cleanup step failed: ${String(err)}`));
}

type NodeProc = {
  name: string;
  url: string;
  pid: number;
  memFile: string;
  stop(): Promise<void>;
  /** Bare nodes only: check-ins broadcast with n > fromN, by site. */
  emitted?(fromN: number): Promise<Record<string, number>>;
};

/** Server processes get bench/memprobe.ts preloaded: a full GC and a process.memoryUsage() on SIGUSR2. */
const PROBE_ARGS = ['--expose-gc', '--import', 'tsx', '--import', './bench/memprobe.ts'];
const memFile = (name: string) => path.join(os.tmpdir(), `bench-broadcast-${process.pid}-${name}.json`);

/**
 * Memory in KiB: VmRSS as it stands ("settled"), then after forced full GCs, repeated until VmRSS holds
 * still, with V8's heap figures from the last one, to split VmRSS into the V8 heap in use, the V8 heap
 * reserved but free (heapTotal − heapUsed: V8 sizes it lazily and keeps fragmented pages), and the rest.
 */
type Mem = { settled: number; rss: number; heapUsed: number; heapFree: number; outside: number; rounds: number };
async function measureMemory(node: NodeProc): Promise<Mem> {
  const settled = rssKiB(node.pid);
  let usage = { heapUsed: NaN, heapTotal: NaN };
  let rss = NaN;
  let rounds = 0;
  for (let prev = NaN; rounds < 8; prev = rss) {
    rounds++;
    fs.rmSync(node.memFile, { force: true });
    process.kill(node.pid, 'SIGUSR2');
    for (let i = 0; i < 200 && !fs.existsSync(node.memFile); i++) await sleep(50);
    await sleep(1500);
    rss = rssKiB(node.pid);
    try {
      usage = JSON.parse(fs.readFileSync(node.memFile, 'utf8')) as typeof usage;
    } catch {
      say(`${node.name}: no memory probe answer; heap figures unknown`);
    }
    if (Math.abs(rss - prev) <= 512) break;
  }
  return {
    settled,
    rss,
    heapUsed: usage.heapUsed / 1024,
    heapFree: (usage.heapTotal - usage.heapUsed) / 1024,
    outside: rss - usage.heapTotal / 1024,
    rounds,
  };
}

/** Wait for a child's health URL; a child that exits first fails the run with its last output. */
async function waitHealthy(name: string, child: ChildProcess, url: string, tail: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was healthy:\n${tail()}`);
    if ((await httpStatus(url)) === 200) return;
    if (Date.now() > deadline) throw new Error(`${name} was not healthy within 60 s:\n${tail()}`);
    await sleep(200);
  }
}

function stopper(name: string, child: ChildProcess): () => Promise<void> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    say(`${name} stopped (exit ${code})`);
  };
}

function forwardOutput(name: string, child: ChildProcess): () => string {
  let tail = '';
  const forward = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) console.error(`[${name}] ${line}`);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return () => tail;
}

async function startHubNode(name: string, dbUrl: string, prefix: string): Promise<NodeProc> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: dbUrl,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    MIGRATE_ON_START: 'false',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  const nodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const mem = memFile(name);
  env.BENCH_MEM_FILE = mem;
  cleanups.push(async () => fs.rmSync(mem, { force: true }));
  const child = spawn(process.execPath, [...nodeArgs, ...PROBE_ARGS, 'server/index.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = stopper(name, child);
  cleanups.push(stop);
  const tail = forwardOutput(name, child);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(name, child, `${url}/api/v1/attendance/health`, tail);
  say(`${name}: hub node (node ${PROBE_ARGS.join(' ')} server/index.ts) healthy on ${url}, pid ${child.pid}`);
  return { name, url, pid: child.pid!, memFile: mem, stop };
}

async function startBareNode(name: string, prefix: string): Promise<NodeProc> {
  const port = await freePort();
  cleanups.push(async () => fs.rmSync(memFile(name), { force: true }));
  const child = fork(SELF, ['--role', 'bare', '--port', String(port), '--prefix', prefix], {
    cwd: ROOT,
    execArgv: PROBE_ARGS,
    env: { ...process.env, REDIS_URL, BENCH_MEM_FILE: memFile(name) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const stop = stopper(name, child);
  cleanups.push(stop);
  const tail = forwardOutput(name, child);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(name, child, `${url}/health`, tail);
  say(`${name}: bare Socket.IO node (Redis adapter) healthy on ${url}, pid ${child.pid}`);
  const emitted = (fromN: number) =>
    new Promise<Record<string, number>>((resolve) => {
      child.once('message', (m: { emitted: Record<string, number> }) => resolve(m.emitted));
      child.send({ op: 'emitted', fromN });
    });
  return { name, url, pid: child.pid!, memFile: memFile(name), stop, emitted };
}

/** A worker child process holding sockets; one request at a time is enough here. */
class ClientWorker {
  private next = 1;
  private waiting = new Map<number, (v: unknown) => void>();
  readonly ready: Promise<void>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let ready!: () => void;
    this.ready = new Promise((r) => (ready = r));
    child.on('message', (m: { id?: number; ready?: boolean }) => {
      if (m.ready) return ready();
      const resolve = this.waiting.get(m.id!);
      this.waiting.delete(m.id!);
      resolve?.(m);
    });
    child.on('exit', (code) => {
      for (const resolve of this.waiting.values()) resolve({ error: `${name} exited (${code})` });
      this.waiting.clear();
    });
  }
  call<T>(msg: WorkerRequest): Promise<T> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (v: unknown) => void);
      this.child.send({ ...msg, id });
    });
  }
  get pid() {
    return this.child.pid!;
  }
}

async function startWorkers(count: number, label: string): Promise<ClientWorker[]> {
  const workers = Array.from({ length: count }, (_, i) => {
    const name = `${label}-clients-${i + 1}`;
    const child = fork(SELF, ['--role', 'clients'], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
    };
    cleanups.push(stop);
    return new ClientWorker(name, child);
  });
  await Promise.all(workers.map((w) => w.ready));
  return workers;
}

async function closeWorkers(workers: ClientWorker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      await Promise.race([w.call({ op: 'close' }), sleep(10_000)]);
      await Promise.race([new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once('exit', r))), sleep(5_000)]);
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }),
  );
}

/**
 * Socket i goes to node i % nodes and watches site (i / nodes) % 10, so every site has sockets on
 * every node; worker w holds a contiguous block, which covers every node and site alike.
 */
async function connectSockets(workers: ClientWorker[], kind: Kind, nodes: NodeProc[], count: number): Promise<{ connected: number; failed: number; seconds: number; errors: string[] }> {
  const specs: SocketSpec[] = Array.from({ length: count }, (_, i) => ({ url: nodes[i % nodes.length]!.url, site: siteId(Math.floor(i / nodes.length)), node: i % nodes.length }));
  const per = Math.ceil(count / workers.length);
  const t0 = performance.now();
  const replies = await Promise.all(
    workers.map((w, i) =>
      w.call<{ connected: number; failed: number; errors: string[] }>({ op: 'connect', kind, sockets: specs.slice(i * per, (i + 1) * per), concurrency: 50 }),
    ),
  );
  return {
    connected: replies.reduce((s, r) => s + r.connected, 0),
    failed: replies.reduce((s, r) => s + r.failed, 0),
    seconds: (performance.now() - t0) / 1000,
    errors: replies.flatMap((r) => r.errors ?? []).slice(0, 5),
  };
}

/** The commit the hub runs from, and whether server/ or shared/ had uncommitted changes (read-only git). */
function codeVersion(): string {
  const git = (...args: string[]) => {
    try {
      // GIT_OPTIONAL_LOCKS=0: status must not refresh the index (or take its lock) under someone committing.
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();
    } catch {
      return '';
    }
  };
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'server', 'shared').split('\n').filter(Boolean).length;
  return `git ${head}${dirty ? ` + ${dirty} uncommitted file(s) in server/ shared/` : ''}`;
}

// ---- CPU ----

type CpuSnap = { t: number; procs: Array<[string, number]>; pg: Map<number, number>; redis: Map<number, number>; self: NodeJS.CpuUsage; machine: { busy: number; total: number } };
function cpuSnap(procs: Array<[string, number]>): CpuSnap {
  return {
    t: performance.now(),
    procs: procs.map(([name, pid]) => [name, procTicks(pid)]),
    pg: ticksByName('postgres'),
    redis: ticksByName('redis-server'),
    self: process.cpuUsage(),
    machine: machineTicks(),
  };
}
/** CPU between two snapshots as % of one core; "everything else" is other people's work on a shared machine. */
function cpuLine(a: CpuSnap, b: CpuSnap): string {
  const secs = (b.t - a.t) / 1000;
  const core = (ticks: number) => `${Math.round((ticks / TICKS_PER_SEC / secs) * 100)}%`;
  const selfTicks = ((b.self.user - a.self.user + b.self.system - a.self.system) / 1e6) * TICKS_PER_SEC;
  const parts = b.procs.map(([name, t], i) => `${name} ${core(t - a.procs[i]![1])}`);
  const pgTicks = ticksBetween(a.pg, b.pg);
  const redisTicks = ticksBetween(a.redis, b.redis);
  const ours = b.procs.reduce((s, [, t], i) => s + t - a.procs[i]![1], 0) + selfTicks + pgTicks + redisTicks;
  const mBusy = b.machine.busy - a.machine.busy;
  const mTotal = b.machine.total - a.machine.total;
  const cores = mTotal ? Math.round(mTotal / TICKS_PER_SEC / secs) : 0;
  return (
    `CPU (% of one core): ${parts.join(', ')}, load generator ${core(selfTicks)}, postgres (all backends) ${core(pgTicks)}, ` +
    `redis-server ${core(redisTicks)}, everything else ${mTotal ? core(Math.max(0, mBusy - ours)) : 'n/a'}; ` +
    `machine busy ${mTotal ? `${Math.round((mBusy / mTotal) * 100)}% of ${cores} cores` : 'n/a'}`
  );
}

// ---- load ----

type LoadStats = {
  sent: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
  created: number;
  perSite: Map<string, number>;
  /** From each request's due time to its response. */
  http: MsHistogram;
  /** Hub only, from the 201's recordedAt (transaction start): due → transaction start, and transaction start → 201 read. */
  toTx: MsHistogram;
  txTo201: MsHistogram;
  samples: string[];
  /** Failed requests by error code (a request that got no answer within 30 s is `timeout`). */
  errorKinds: Record<string, number>;
};
const emptyLoad = (): LoadStats => ({ sent: 0, seconds: 0, statuses: {}, errors: 0, created: 0, perSite: new Map(), http: new MsHistogram(), toTx: new MsHistogram(), txTo201: new MsHistogram(), samples: [], errorKinds: {} });

/**
 * Open loop: request i is due at start + i/rate, whatever happened to the earlier ones, alternating
 * over the nodes (keep-alive). The check-in's site is taken from the 201's body.
 */
async function pacedLoad(nodes: NodeProc[], urlPath: string, rate: number, seconds: number, body: (node: number) => string): Promise<LoadStats> {
  const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: 256 }));
  const stats = emptyLoad();
  const total = Math.round(seconds * rate);
  const pending: Array<Promise<void>> = [];
  const fire = (i: number, dueAt: number) =>
    new Promise<void>((resolve) => {
      const text = body(i % nodes.length);
      const dueWall = Date.now() - (performance.now() - dueAt);
      const { hostname, port } = new URL(nodes[i % nodes.length]!.url);
      const req = http.request(
        { agent: agents[i % nodes.length], host: hostname, port, method: 'POST', path: urlPath, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
        (res) => {
          let answer = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (answer += c));
          res.on('end', () => {
            stats.http.add(performance.now() - dueAt);
            const status = res.statusCode ?? 0;
            stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
            if (status === 201) {
              stats.created++;
              const { siteId: site, recordedAt } = (JSON.parse(answer) as { data: { siteId: string; recordedAt?: string } }).data;
              stats.perSite.set(site, (stats.perSite.get(site) ?? 0) + 1);
              if (recordedAt) {
                stats.toTx.add(Date.parse(recordedAt) - dueWall);
                stats.txTo201.add(Date.now() - Date.parse(recordedAt));
              }
            } else if (stats.samples.length < 5) stats.samples.push(`${status} ${answer.slice(0, 200)}`);
            resolve();
          });
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        stats.errors++;
        const kind = (err as NodeJS.ErrnoException).code ?? err.message;
        stats.errorKinds[kind] = (stats.errorKinds[kind] ?? 0) + 1;
        resolve();
      });
      req.end(text);
    });
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      while (stats.sent < due) {
        pending.push(fire(stats.sent, t0 + (stats.sent * 1000) / rate));
        stats.sent++;
      }
      if (stats.sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  stats.seconds = (performance.now() - t0) / 1000;
  for (const a of agents) a.destroy();
  return stats;
}

// ---- one phase: a set of nodes (hub or bare), sockets, load ----

type Delivery = { expected: number; delivered: number; expectedPresence: number; deliveredPresence: number; shortSockets: number; extraSockets: number };
type PhaseResult = {
  kind: Kind;
  load: LoadStats;
  latency: MsHistogram;
  local: MsHistogram;
  remote: MsHistogram;
  delivery: Delivery;
  wireNonIncreasing: number;
  disconnects: number;
  stillConnected: number;
  clientErrors: string[];
  clientLoop: { p99: number; max: number };
  selfLoop: { p99: number; max: number };
  rss: Array<{ name: string; before: Mem; after: Mem; sockets: number; afterLoad: number }>;
  connect: { connected: number; failed: number; seconds: number; errors: string[] };
  cpu: string;
  drainSeconds: number;
  /** Hub with --commit-stamps: receive time − clock_timestamp() taken as the transaction commits. */
  fromCommit?: MsHistogram;
  /** Hub only: transactions that carried the window's check-ins. */
  groups?: { count: number; mean: number; max: number };
};

type Ctx = { dbUrl: string; employees: number; nextEmployee: number; nextN: number };

function loadBody(kind: Kind, ctx: Ctx): (node: number) => string {
  if (kind === 'hub') {
    return (node) =>
      JSON.stringify({ employeeId: employeeOf(ctx.nextEmployee++, ctx.employees).employeeId, type: 'toggle', eventId: randomUUID(), deviceId: deviceOf(node) });
  }
  return (node) => JSON.stringify({ n: ++ctx.nextN, ...employeeOf(ctx.nextEmployee++, ctx.employees), deviceId: deviceOf(node) });
}
const loadPath = (kind: Kind) => (kind === 'hub' ? '/api/v1/checkins' : '/emit');

async function seqHead(dbUrl: string): Promise<number> {
  return Number((await queryOnce(dbUrl, 'SELECT value FROM event_seq WHERE id = 1')).rows[0].value);
}

const per = (r: PhaseResult['rss'][number], k: keyof Mem) => ((r.after[k] - r.before[k]) / r.sockets).toFixed(1);
const rssLine = (r: PhaseResult['rss'][number]) =>
  `${r.name} VmRSS ${num(r.before.rss)} → ${num(r.after.rss)} KiB with ${num(r.sockets)} sockets = ${per(r, 'rss')} KiB/socket: ` +
  `V8 heap in use ${per(r, 'heapUsed')}, V8 heap free ${per(r, 'heapFree')}, outside the V8 heap ${per(r, 'outside')} (before the forced GCs ${per(r, 'settled')})`;
/** Both readings after forced GCs: what holding the sockets retains, not garbage awaiting collection. */
const rssPerSocket = (rss: PhaseResult['rss'], k: keyof Mem = 'rss') => rss.reduce((s, r) => s + r.after[k] - r.before[k], 0) / rss.reduce((s, r) => s + r.sockets, 0);

/** Warm up, measure RSS without and with sockets, then (unless idle) the measured broadcast window. */
async function runPhase(kind: Kind, nodes: NodeProc[], ctx: Ctx, opts: { sockets: number; workers: number; rate: number; duration: number; warmup: number; settle: number; idle: boolean; commitStamps: boolean }): Promise<PhaseResult> {
  const label = kind === 'hub' ? 'hub' : 'bare';
  const selfLoop = monitorEventLoopDelay({ resolution: 10 });
  if (opts.warmup > 0) {
    say(`${label}: warm-up, ${opts.rate}/s for ${opts.warmup} s with no sockets connected`);
    await pacedLoad(nodes, loadPath(kind), opts.rate, opts.warmup, loadBody(kind, ctx));
  }
  // V8 shrinks its heap some 8 s after a burst of work (the memory reducer): settle past that before either reading.
  await sleep(opts.settle * 1000);
  const before = await Promise.all(nodes.map(measureMemory));
  say(`${label}: before sockets, after forced GCs: ${nodes.map((n, i) => `${n.name} VmRSS ${num(before[i]!.rss)} KiB`).join(', ')}`);

  const workers = await startWorkers(opts.workers, label);
  say(`${label}: connecting ${num(opts.sockets)} sockets (websocket only, each subscribed to one site) from ${workers.length} worker processes`);
  const connect = await connectSockets(workers, kind, nodes, opts.sockets);
  say(`${label}: ${num(connect.connected)} connected and subscribed in ${connect.seconds.toFixed(1)} s, ${connect.failed} failed${connect.errors.length ? `: ${connect.errors.join('; ')}` : ''}`);
  await sleep(opts.settle * 1000);
  const after = await Promise.all(nodes.map(measureMemory));
  const perNode = nodes.map((_, i) => Math.floor(opts.sockets / nodes.length) + (i < opts.sockets % nodes.length ? 1 : 0));
  const rss = nodes.map((n, i) => ({ name: n.name, before: before[i]!, after: after[i]!, sockets: perNode[i]!, afterLoad: NaN }));
  for (const r of rss) say(`${label}: RSS ${rssLine(r)} (${opts.settle} s settling, then forced GCs until RSS held still: ${r.before.rounds}/${r.after.rounds} rounds)`);

  const empty = { expected: 0, delivered: 0, expectedPresence: 0, deliveredPresence: 0, shortSockets: 0, extraSockets: 0 };
  const result: PhaseResult = {
    kind,
    load: emptyLoad(),
    latency: new MsHistogram(),
    local: new MsHistogram(),
    remote: new MsHistogram(),
    delivery: empty,
    wireNonIncreasing: 0,
    disconnects: 0,
    stillConnected: 0,
    clientErrors: [],
    clientLoop: { p99: NaN, max: NaN },
    selfLoop: { p99: NaN, max: NaN },
    rss,
    connect,
    cpu: '',
    drainSeconds: 0,
  };
  if (opts.idle) {
    const reports = await Promise.all(workers.map((w) => w.call<{ report: ClientReport }>({ op: 'report' })));
    result.stillConnected = reports.reduce((s, r) => s + r.report.connected, 0);
    say(`${label}: client workers' RSS ${reports.map((r) => `${num(r.report.rssKiB)} KiB`).join(', ')}; still connected ${num(result.stillConnected)}`);
    await closeWorkers(workers);
    return result;
  }

  if (opts.warmup > 0) {
    say(`${label}: warm-up with sockets, ${opts.rate}/s for ${opts.warmup} s (not counted)`);
    await pacedLoad(nodes, loadPath(kind), opts.rate, opts.warmup, loadBody(kind, ctx));
    await sleep(2000);
  }
  const fromSeq = kind === 'hub' ? await seqHead(ctx.dbUrl) : 2 * ctx.nextN;
  const keepSamples = kind === 'hub' && opts.commitStamps;
  await Promise.all(workers.map((w) => w.call({ op: 'start', fromSeq, keepSamples })));
  const procs: Array<[string, number]> = [...nodes.map((n): [string, number] => [n.name, n.pid]), ...workers.map((w): [string, number] => [w.name, w.pid])];
  say(`${label}: measuring: ${opts.rate}/s for ${opts.duration} s over ${nodes.length} node(s), events after seq ${fromSeq}`);
  selfLoop.enable();
  const cpuBefore = cpuSnap(procs);
  result.load = await pacedLoad(nodes, loadPath(kind), opts.rate, opts.duration, loadBody(kind, ctx));
  const cpuAfter = cpuSnap(procs);
  selfLoop.disable();
  result.cpu = cpuLine(cpuBefore, cpuAfter);
  result.selfLoop = { p99: selfLoop.percentile(99) / 1e6, max: selfLoop.max / 1e6 };

  // What each socket is entitled to: the hub's committed events for its site (from PostgreSQL), or
  // for the baseline every 201 (one checkin.recorded and one presence.changed each).
  const expectedBySite = new Map<string, { checkins: number; presence: number }>();
  if (kind === 'hub') {
    const toSeq = await seqHead(ctx.dbUrl);
    const { rows } = await queryOnce(
      ctx.dbUrl,
      `SELECT kind, site_id, count(*)::int AS n FROM events WHERE seq > $1 AND seq <= $2 GROUP BY kind, site_id`,
      [fromSeq, toSeq],
    );
    for (const r of rows as Array<{ kind: string; site_id: string; n: number }>) {
      const e = expectedBySite.get(r.site_id) ?? { checkins: 0, presence: 0 };
      if (r.kind === 'checkin.recorded') e.checkins += r.n;
      else if (r.kind === 'presence.changed') e.presence += r.n;
      expectedBySite.set(r.site_id, e);
    }
    const committed = [...expectedBySite.values()].reduce((s, e) => s + e.checkins, 0);
    // The events of one transaction share its now() (events.created_at): group-commit sizes.
    const g = (
      await queryOnce(
        ctx.dbUrl,
        `SELECT count(*)::int AS n, coalesce(max(c), 0)::int AS max FROM
           (SELECT created_at, count(*) FILTER (WHERE kind = 'checkin.recorded') AS c FROM events WHERE seq > $1 AND seq <= $2 GROUP BY created_at) t`,
        [fromSeq, toSeq],
      )
    ).rows[0] as { n: number; max: number };
    result.groups = { count: g.n, mean: g.n ? committed / g.n : 0, max: g.max };
    if (committed !== result.load.created) say(`${label}: WARNING ${committed} checkin.recorded events committed but ${result.load.created} 201s read`);
  } else {
    // Every broadcast the bare nodes made, answered in time or not: one checkin.recorded and one presence.changed each.
    // Requests the load generator gave up on may still be in a node's queue: wait until the counts hold still.
    const count = async () => (await Promise.all(nodes.map((n) => n.emitted!(fromSeq / 2)))).reduce((s, m) => s + Object.values(m).reduce((a, b) => a + b, 0), 0);
    for (let prev = -1, now = await count(); now !== prev; ) {
      await sleep(1000);
      [prev, now] = [now, await count()];
    }
    for (const node of nodes) {
      for (const [site, n] of Object.entries(await node.emitted!(fromSeq / 2))) {
        const e = expectedBySite.get(site) ?? { checkins: 0, presence: 0 };
        expectedBySite.set(site, { checkins: e.checkins + n, presence: e.presence + n });
      }
    }
  }

  // Wait for the fan-out to finish: until every expected event is in, or nothing moves for 5 s.
  const drainStart = performance.now();
  let reports: ClientReport[] = [];
  let lastTotal = -1;
  let lastMove = performance.now();
  for (;;) {
    reports = (await Promise.all(workers.map((w) => w.call<{ report: ClientReport }>({ op: 'report' })))).map((r) => r.report);
    result.delivery = tally(reports, expectedBySite);
    const total = result.delivery.delivered + result.delivery.deliveredPresence;
    if (total >= result.delivery.expected + result.delivery.expectedPresence) break;
    if (total !== lastTotal) {
      lastTotal = total;
      lastMove = performance.now();
    } else if (performance.now() - lastMove > 5000 || performance.now() - drainStart > 60_000) break;
    await sleep(250);
  }
  result.drainSeconds = (performance.now() - drainStart) / 1000;
  for (const r of reports) {
    result.local.merge(r.latencyLocal);
    result.remote.merge(r.latencyRemote);
    result.latency.merge(r.latencyLocal);
    result.latency.merge(r.latencyRemote);
  }
  result.wireNonIncreasing = reports.reduce((s, r) => s + r.wireNonIncreasing, 0);
  result.disconnects = reports.reduce((s, r) => s + r.disconnects, 0);
  result.stillConnected = reports.reduce((s, r) => s + r.connected, 0);
  result.clientErrors = reports.flatMap((r) => r.errors).slice(0, 5);
  result.clientLoop = { p99: Math.max(...reports.map((r) => r.loopDelayMs.p99)), max: Math.max(...reports.map((r) => r.loopDelayMs.max)) };
  for (const [i, n] of nodes.entries()) rss[i]!.afterLoad = rssKiB(n.pid);
  if (keepSamples) {
    const { rows } = await queryOnce(
      ctx.dbUrl,
      `SELECT b.seq::int AS seq, extract(epoch FROM b.at) * 1000 AS ms FROM bench_commit b JOIN events e USING (seq)
        WHERE b.seq > $1 AND e.kind = 'checkin.recorded'`,
      [fromSeq],
    );
    const stamps = (rows as Array<{ seq: number; ms: string }>).map((r): [number, number] => [r.seq, Number(r.ms)]);
    result.fromCommit = new MsHistogram();
    for (const w of workers) {
      const answer = await w.call<{ latency: Array<[number, number]>; unmatched: number }>({ op: 'fromCommit', stamps });
      result.fromCommit.merge(answer.latency);
      if (answer.unmatched) say(`${label}: ${answer.unmatched} deliveries without a commit stamp`);
    }
  }
  await closeWorkers(workers);
  return result;
}

function tally(reports: ClientReport[], expectedBySite: Map<string, { checkins: number; presence: number }>): Delivery {
  const d: Delivery = { expected: 0, delivered: 0, expectedPresence: 0, deliveredPresence: 0, shortSockets: 0, extraSockets: 0 };
  for (const r of reports) {
    for (const [site, t] of Object.entries(r.perSite)) {
      const e = expectedBySite.get(site) ?? { checkins: 0, presence: 0 };
      d.expected += e.checkins * t.sockets;
      d.expectedPresence += e.presence * t.sockets;
      d.delivered += t.checkins;
      d.deliveredPresence += t.presence;
      if (t.minCheckins < e.checkins || t.minPresence < e.presence) d.shortSockets++;
      if (t.maxCheckins > e.checkins || t.maxPresence > e.presence) d.extraSockets++;
    }
  }
  return d;
}

const lat = (x: MsHistogram) => `p50 ${ms(x.percentile(0.5))}, p95 ${ms(x.percentile(0.95))}, p99 ${ms(x.percentile(0.99))}, max ${ms(x.max)}, mean ${x.mean.toFixed(2)} ms`;

function printPhase(r: PhaseResult, target: number) {
  const l = r.load;
  const label = r.kind === 'hub' ? 'hub' : 'bare';
  say(
    `${label}: load ${num(l.created)} × 201 of ${num(l.sent)} sent in ${l.seconds.toFixed(2)} s = ${Math.round(l.created / l.seconds)}/s (target ${target}/s); ` +
      `HTTP p50 ${ms(l.http.percentile(0.5))}, p99 ${ms(l.http.percentile(0.99))}; statuses ${JSON.stringify(l.statuses)}, errors ${l.errors}`,
  );
  const h = r.latency;
  say(`${label}: receive latency ${lat(h)} over ${num(h.count)} deliveries`);
  say(`${label}:   sockets on the node that took the check-in ${lat(r.local)}; on the other node (via Redis) ${lat(r.remote)}`);
  if (r.fromCommit) say(`${label}:   --commit-stamps: commit (deferred trigger, just before the commit record) → receive ${lat(r.fromCommit)}`);
  if (r.groups) say(`${label}:   ${num(r.groups.count)} transactions, ${r.groups.mean.toFixed(1)} check-ins per transaction (max ${r.groups.max}), each fanned out as one burst`);
  if (l.toTx.count) say(`${label}:   HTTP side: request due → transaction start (recordedAt) ${lat(l.toTx)}; transaction start → 201 read ${lat(l.txTo201)}`);
  const d = r.delivery;
  say(
    `${label}: checkin.recorded delivered ${num(d.delivered)}/${num(d.expected)}, presence.changed ${num(d.deliveredPresence)}/${num(d.expectedPresence)}; ` +
      `site-groups with a socket short ${d.shortSockets}, over ${d.extraSockets}; non-increasing seqs on the wire ${num(r.wireNonIncreasing)}; ` +
      `disconnects ${r.disconnects}; still connected ${num(r.stillConnected)}; fan-out finished ${r.drainSeconds.toFixed(1)} s after the last 201`,
  );
  say(`${label}: event-loop delay p99/max: client workers ${r.clientLoop.p99.toFixed(1)}/${r.clientLoop.max.toFixed(1)} ms, load generator ${r.selfLoop.p99.toFixed(1)}/${r.selfLoop.max.toFixed(1)} ms`);
  say(`${label}: RSS after the load: ${r.rss.map((x) => `${x.name} ${num(x.afterLoad)} KiB`).join(', ')}`);
  say(`${label}: ${r.cpu}`);
  if (l.samples.length) say(`${label}: non-201 samples: ${l.samples.join(' | ')}`);
  if (l.errors) say(`${label}: failed requests by kind: ${JSON.stringify(l.errorKinds)}`);
  if (r.clientErrors.length) say(`${label}: client errors: ${r.clientErrors.join(' | ')}`);
}

async function main(): Promise<number> {
  const idle = flags.idle;
  const SOCKETS = Math.round(positive(idle ? 'idle-sockets' : 'sockets', idle ? flags['idle-sockets'] : flags.sockets));
  const RATE = positive('rate', flags.rate);
  const DURATION = positive('duration', flags.duration);
  const WARMUP = Number(flags.warmup) || 0;
  const WORKERS = Math.round(positive('workers', flags.workers));
  const EMPLOYEES = Math.round(positive('employees', flags.employees));
  const SETTLE = Number(flags.settle) || 0;
  const NODES = idle ? 1 : 2;

  const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const DB_NAME = `hub_bcast_${process.pid}`;
  const dbUrl = withDatabase(ADMIN_URL, DB_NAME);
  const prefix = `bench-${process.pid}`;

  const onSignal = () => {
    say('interrupted: cleaning up');
    void cleanUp().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  cleanups.push(async () => {
    await queryOnce(ADMIN_URL, `DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    say(`dropped database ${DB_NAME}`);
  });
  cleanups.push(async () => say(`removed ${await removeRedisKeys(REDIS_URL, prefix)} Redis keys under ${prefix}`));

  say(`creating database ${DB_NAME}`);
  await queryOnce(ADMIN_URL, `DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await queryOnce(ADMIN_URL, `CREATE DATABASE ${DB_NAME}`);
  say('migrating it with Liquibase');
  await migrate(dbUrl, pino({ level: 'warn' }));
  say(`seeding ${SITES} sites and ${num(EMPLOYEES)} employees`);
  await queryOnce(dbUrl, `INSERT INTO sites (id, name) SELECT 'S' || lpad(g::text, 2, '0'), 'Site ' || g FROM generate_series(1, $1::int) g`, [SITES]);
  await queryOnce(
    dbUrl,
    `INSERT INTO employees (id, name, site_id)
     SELECT 'E' || lpad(g::text, 6, '0'), 'Employee ' || g, 'S' || lpad((1 + g % $2::int)::text, 2, '0') FROM generate_series(1, $1::int) g`,
    [EMPLOYEES, SITES],
  );
  if (flags['commit-stamps']) {
    // Diagnostic, in the bench database only: a deferred constraint trigger runs at COMMIT, so it stamps
    // when each transaction commits (recordedAt is its start). It adds one insert per event to the hub's work.
    await queryOnce(dbUrl, 'CREATE TABLE bench_commit (seq bigint PRIMARY KEY, at timestamptz NOT NULL)');
    await queryOnce(
      dbUrl,
      `CREATE FUNCTION bench_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO bench_commit VALUES (NEW.seq, clock_timestamp()); RETURN NULL; END $$`,
    );
    await queryOnce(dbUrl, 'CREATE CONSTRAINT TRIGGER bench_stamp AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_stamp()');
  }
  // Only the seeded tables: statistics saying `events` is empty would give the hub's connections a cached
  // sequential scan for the checkins → events foreign-key check (see BENCHMARKS.md, Ingest).
  await queryOnce(dbUrl, 'ANALYZE sites, employees');
  const pgVersion = (await queryOnce(dbUrl, 'SHOW server_version')).rows[0].server_version as string;
  const machine = `${machineSummary()}, PostgreSQL ${pgVersion}, Redis at ${REDIS_URL}; load average at start ${os.loadavg()[0]!.toFixed(2)}; code ${codeVersion()}`;
  say(`machine: ${machine}`);

  const ctx: Ctx = { dbUrl, employees: EMPLOYEES, nextEmployee: 0, nextN: 0 };
  const opts = { sockets: SOCKETS, workers: WORKERS, rate: RATE, duration: DURATION, warmup: WARMUP, settle: SETTLE, idle, commitStamps: flags['commit-stamps'] };

  // Baseline first, then the hub; each on its own processes, stopped before the next starts.
  say(`== baseline: bare Socket.IO, ${NODES} process(es), Redis adapter ==`);
  const bareNodes: NodeProc[] = [];
  for (let i = 0; i < NODES; i++) bareNodes.push(await startBareNode(`bare-${'ab'[i]}`, `${prefix}-bare`));
  const bare = await runPhase('bare', bareNodes, ctx, opts);
  if (!idle) printPhase(bare, RATE);
  for (const n of bareNodes) await n.stop();

  say(`== hub: ${NODES} node(s), Redis adapter ==`);
  const hubNodes: NodeProc[] = [];
  for (let i = 0; i < NODES; i++) hubNodes.push(await startHubNode(`hub-${'ab'[i]}`, dbUrl, prefix));
  const hub = await runPhase('hub', hubNodes, ctx, opts);
  if (!idle) printPhase(hub, RATE);
  for (const n of hubNodes) await n.stop();

  const hubKiB = rssPerSocket(hub.rss);
  const bareKiB = rssPerSocket(bare.rss);
  const memLine = (side: PhaseResult) =>
    `${rssPerSocket(side.rss).toFixed(1)} KiB (V8 heap in use ${rssPerSocket(side.rss, 'heapUsed').toFixed(1)}, ` +
    `V8 heap free ${rssPerSocket(side.rss, 'heapFree').toFixed(1)}, outside it ${rssPerSocket(side.rss, 'outside').toFixed(1)})`;
  const memNote = `memory:   ΔVmRSS ÷ sockets, both readings after forced full GCs; a node's VmRSS also moves by itself (V8 heap sizing, allocator), by tens of MB, so below thousands of sockets per node the figure is noise`;
  const connectOk = hub.connect.failed === 0 && bare.connect.failed === 0;
  console.log('');
  if (idle) {
    console.log('== broadcast benchmark: idle sockets ==');
    console.log(`command:  npm run bench:broadcast -- --idle --idle-sockets ${SOCKETS} --workers ${WORKERS} (1 node, Redis adapter, each socket subscribed to one of ${SITES} sites)`);
    console.log(`machine:  ${machine}`);
    console.log(`hub:      ${hub.rss.map(rssLine).join('; ')}; connected+subscribed in ${hub.connect.seconds.toFixed(1)} s, ${hub.connect.failed} failed, ${num(hub.stillConnected)} still connected`);
    console.log(`bare:     ${bare.rss.map(rssLine).join('; ')}; connected+subscribed in ${bare.connect.seconds.toFixed(1)} s, ${bare.connect.failed} failed, ${num(bare.stillConnected)} still connected`);
    console.log(`per socket: hub ${memLine(hub)}, bare ${memLine(bare)}`);
    console.log(`ratio:    RSS per socket hub/bare = ${ratio(hubKiB, bareKiB)} (V8 heap in use ${ratio(rssPerSocket(hub.rss, 'heapUsed'), rssPerSocket(bare.rss, 'heapUsed'))})`);
    console.log(memNote);
    console.log(`${verdict(hubKiB <= RSS_TARGET_KIB)}  ≤ ${RSS_TARGET_KIB} KiB RSS per idle socket on the hub (${hubKiB.toFixed(1)} KiB; bare Socket.IO ${bareKiB.toFixed(1)} KiB)`);
    console.log(`${verdict(connectOk)}  every socket connected and subscribed`);
    return connectOk ? 0 : 1;
  }

  const h = hub.latency;
  const b = bare.latency;
  const pct = (d: Delivery) => (d.expected ? (100 * d.delivered) / d.expected : NaN);
  const hubDelivered = hub.delivery.delivered === hub.delivery.expected && hub.delivery.deliveredPresence === hub.delivery.expectedPresence && hub.delivery.expected > 0;
  const inOrder = hub.wireNonIncreasing === 0 && hub.delivery.extraSockets === 0;
  const achieved = hub.load.created / hub.load.seconds;
  const clean = hub.load.errors === 0 && hub.load.created === hub.load.sent;
  console.log('== broadcast benchmark ==');
  console.log(`command:  npm run bench:broadcast -- --sockets ${SOCKETS} --rate ${RATE} --duration ${DURATION} --workers ${WORKERS} (2 nodes, ${SITES} sites, ${num(EMPLOYEES)} employees, Redis adapter)`);
  console.log(`machine:  ${machine}`);
  console.log(`hub:      commit→receive ${lat(h)} (${num(h.count)} deliveries); ${Math.round(achieved)} check-ins/s`);
  console.log(`bare:     emit→receive   ${lat(b)} (${num(b.count)} deliveries); ${Math.round(bare.load.created / bare.load.seconds)} broadcasts/s`);
  console.log(`split:    hub same node ${lat(hub.local)}; other node ${lat(hub.remote)}`);
  console.log(`          bare same node ${lat(bare.local)}; other node ${lat(bare.remote)}`);
  if (hub.load.toTx.count) console.log(`hub http: request due → transaction start ${lat(hub.load.toTx)}; transaction start → 201 read ${lat(hub.load.txTo201)}`);
  if (hub.fromCommit) console.log(`hub commit: --commit-stamps (a deferred trigger stamps clock_timestamp() as each transaction commits): commit → receive ${lat(hub.fromCommit)}`);
  if (hub.groups) console.log(`hub tx:   ${num(hub.groups.count)} transactions, ${hub.groups.mean.toFixed(1)} check-ins per transaction (max ${hub.groups.max})`);
  console.log(`ratio:    hub/bare p50 ${ratio(h.percentile(0.5), b.percentile(0.5))}, p95 ${ratio(h.percentile(0.95), b.percentile(0.95))}, p99 ${ratio(h.percentile(0.99), b.percentile(0.99))}, mean ${ratio(h.mean, b.mean)}`);
  console.log(`delivery: hub checkin.recorded ${num(hub.delivery.delivered)}/${num(hub.delivery.expected)} (${pct(hub.delivery).toFixed(3)}%), presence.changed ${num(hub.delivery.deliveredPresence)}/${num(hub.delivery.expectedPresence)}, non-increasing seqs on the wire ${hub.wireNonIncreasing}, disconnects ${hub.disconnects}`);
  console.log(`          bare ${num(bare.delivery.delivered)}/${num(bare.delivery.expected)} (${pct(bare.delivery).toFixed(3)}%), presence ${num(bare.delivery.deliveredPresence)}/${num(bare.delivery.expectedPresence)} (plain Socket.IO: at most once, no order across nodes: ${num(bare.wireNonIncreasing)} out of order)`);
  console.log(`rss:      hub ${hub.rss.map(rssLine).join('; ')}`);
  console.log(`          bare ${bare.rss.map(rssLine).join('; ')}`);
  console.log(`          per connected socket hub ${memLine(hub)}, bare ${memLine(bare)}; ratio ${ratio(hubKiB, bareKiB)}`);
  console.log(memNote);
  console.log(`clients:  event-loop delay p99/max hub phase ${hub.clientLoop.p99.toFixed(1)}/${hub.clientLoop.max.toFixed(1)} ms, bare phase ${bare.clientLoop.p99.toFixed(1)}/${bare.clientLoop.max.toFixed(1)} ms`);
  console.log(`cpu hub:  ${hub.cpu}`);
  console.log(`cpu bare: ${bare.cpu}`);
  console.log(`note:     recordedAt is PostgreSQL now() at the start of the check-in's transaction, so the hub's figure includes the commit; both stamps are whole ms`);
  console.log(`${verdict(h.percentile(0.99) <= P99_TARGET_MS && achieved >= RATE * 0.97)}  p99 ≤ ${P99_TARGET_MS} ms commit→receive at ${RATE}/s (p99 ${ms(h.percentile(0.99))}, achieved ${Math.round(achieved)}/s)`);
  console.log(`${verdict(hubDelivered && inOrder)}  100% delivered, each socket in seq order with no duplicate (${pct(hub.delivery).toFixed(3)}%)`);
  // Below a few thousand sockets a node's RSS moves more on its own (allocator, V8 heap sizing) than the sockets move it.
  const fewest = Math.min(...hub.rss.map((r) => r.sockets));
  if (fewest >= 2000) console.log(`${verdict(hubKiB <= RSS_TARGET_KIB)}  ≤ ${RSS_TARGET_KIB} KiB RSS per connected socket on the hub (${hubKiB.toFixed(1)} KiB)`);
  else
    console.log(
      `INFO  RSS per connected socket on the hub ${hubKiB.toFixed(1)} KiB: indicative only with ${num(fewest)} sockets per node ` +
        `(V8 heap in use ${rssPerSocket(hub.rss, 'heapUsed').toFixed(1)} KiB/socket); --idle measures the ≤ ${RSS_TARGET_KIB} KiB target with 10,000`,
    );
  console.log(`${verdict(clean && connectOk)}  run valid: every hub check-in answered 201, every socket (hub and bare) connected`);
  for (const side of [hub, bare]) {
    const rate = side.load.created / side.load.seconds;
    if (rate < RATE * 0.97 || side.load.errors)
      console.log(`WARNING  ${side.kind} took only ${Math.round(rate)}/s of the ${RATE}/s offered (${side.load.errors} requests timed out or failed): it was saturated, and its latency includes queueing`);
  }
  return clean && connectOk && hubDelivered && inOrder ? 0 : 1;
}

// ---- entry ----

if (flags.help) {
  console.log(HELP);
} else if (flags.role === 'clients') {
  await clientsRole();
} else if (flags.role === 'bare') {
  await bareRole();
} else {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(err instanceof Error ? err.stack : err);
  } finally {
    await cleanUp();
  }
  process.exit(code);
}
