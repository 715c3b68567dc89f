/** The servers a phase runs on: hub nodes or bare Socket.IO nodes, each a child process whose memory can be read. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, freePort, startHub, startServer, UNLIMITED, type Server } from '../lib/child.js';
import { say, sleep } from '../lib/print.js';
import { rssKiB } from '../lib/proc.js';
import { onCleanup } from '../lib/run.js';

export type NodeProc = Server & {
  memFile: string;
  /** Hub nodes only: the credentials the load and the dashboards use. */
  tokens?: HubTokens;
  /** Bare nodes only: check-ins broadcast with n > fromN, by site. */
  emitted?(fromN: number): Promise<Record<string, number>>;
};

/** Server processes get memprobe.ts preloaded: a full GC and a process.memoryUsage() on SIGUSR2. */
const PROBE_ARGS = ['--expose-gc', '--import', 'tsx', '--import', './bench/broadcast/memprobe.ts'];

function memFile(name: string): string {
  const file = path.join(os.tmpdir(), `bench-broadcast-${process.pid}-${name}.json`);
  onCleanup(async () => fs.rmSync(file, { force: true }));
  return file;
}

/** A kiosk token for every site (the check-ins), and a dashboard token per site (its sockets). */
export type HubTokens = { kiosk: string; dashboard: Record<string, string> };

/** A hub node; with workers > 1 its memory readings are the primary's alone (the workers are its children). */
export async function startHubNode(name: string, dbUrl: string, redis: { url: string; prefix: string }, adminToken: string, workers = 1): Promise<NodeProc> {
  const mem = memFile(name);
  const hub = await startHub({ name, dbUrl, redis, nodeArgs: PROBE_ARGS, env: { BENCH_MEM_FILE: mem, ADMIN_TOKEN: adminToken, WORKERS: String(workers), ...UNLIMITED } });
  return { ...hub, memFile: mem };
}

/** Tokens made through the hub's own API with the admin token it was started with. */
export async function createHubTokens(hubUrl: string, adminToken: string, sites: string[]): Promise<HubTokens> {
  const create = (body: object) => createToken(hubUrl, adminToken, body);
  const dashboard: Record<string, string> = {};
  for (const site of sites) dashboard[site] = await create({ name: `bench dashboard ${site}`, role: 'dashboard', sites: [site] });
  return { kiosk: await create({ name: 'bench kiosk', role: 'kiosk', sites }), dashboard };
}

export async function startBareNode(name: string, redisUrl: string, prefix: string): Promise<NodeProc> {
  const port = await freePort();
  const mem = memFile(name);
  const node = await startServer({
    name,
    args: [...PROBE_ARGS, 'bench/broadcast/bare.ts', '--port', String(port), '--prefix', prefix],
    env: { ...process.env, REDIS_URL: redisUrl, BENCH_MEM_FILE: mem },
    port,
    health: '/health',
    ipc: true,
  });
  say(`${name}: bare Socket.IO node (Redis adapter) healthy on ${node.url}, pid ${node.pid}`);
  const emitted = (fromN: number) =>
    new Promise<Record<string, number>>((resolve) => {
      node.child.once('message', (m: { emitted: Record<string, number> }) => resolve(m.emitted));
      node.child.send({ op: 'emitted', fromN });
    });
  return { ...node, memFile: mem, emitted };
}

/**
 * Memory in KiB: VmRSS as it stands ("settled"), then after forced full GCs, repeated until VmRSS holds
 * still, with V8's heap figures from the last one, to split VmRSS into the V8 heap in use, the V8 heap
 * reserved but free (heapTotal − heapUsed: V8 sizes it lazily and keeps fragmented pages), and the rest.
 */
export type Mem = { settled: number; rss: number; heapUsed: number; heapFree: number; outside: number; rounds: number };

export async function measureMemory(node: NodeProc): Promise<Mem> {
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

/**
 * Diagnostic (BENCH_HEAP_SNAPSHOTS=<dir>): a heap snapshot of the node, taken after forced GCs, to see
 * which objects its sockets hold. Taken after a memory reading, never before one: writing it grows the
 * process, so a run that takes them reports RSS figures that are not comparable.
 */
export async function heapSnapshot(node: NodeProc, to: string): Promise<void> {
  const request = `${node.memFile}.snapshot`;
  fs.writeFileSync(request, to);
  process.kill(node.pid, 'SIGUSR2');
  for (let i = 0; i < 6000 && fs.existsSync(request); i++) await sleep(100);
  say(`${node.name}: heap snapshot ${fs.existsSync(request) ? 'not written within 10 min' : `written to ${to}`}`);
  fs.rmSync(request, { force: true });
}
