/**
 * Servers under test as child processes (the hub, or the broadcast bench's bare Socket.IO node), so the
 * load generator never shares their event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { say, sleep } from './print.js';
import { onCleanup } from './run.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/** Children's log lines by name and message: each is shown once, as a warning per commit would drown the figures. */
const seen = new Map<string, number>();

function forwardOutput(name: string, child: ChildProcess): () => string {
  let tail = '';
  const forward = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let key = line;
      try {
        const j = JSON.parse(line) as { level?: number; msg?: string };
        key = `${j.level ?? ''} ${j.msg ?? line}`;
      } catch {
        /* not JSON */
      }
      key = `[${name}] ${key}`;
      const count = seen.get(key) ?? 0;
      seen.set(key, count + 1);
      if (!count) console.error(`[${name}] ${line}`);
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return () => tail;
}

/** The log lines that repeated, with their counts, for the summary. */
export function repeatedLines(): string[] {
  return [...seen].filter(([, n]) => n > 1).map(([line, n]) => `${n} × ${line.slice(0, 160)}`);
}

export type Server = { name: string; url: string; pid: number; child: ChildProcess; stop(): Promise<void> };

/** `node <args>` from the repository root, healthy once `health` answers 200; stopped at clean-up at the latest. */
export async function startServer(opts: { name: string; args: string[]; env: NodeJS.ProcessEnv; port: number; health: string; ipc?: boolean }): Promise<Server> {
  const { name } = opts;
  const child = spawn(process.execPath, opts.args, { cwd: ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // the hub drains: every request taken has committed or failed
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    say(`${name} stopped (exit ${code})`);
  };
  onCleanup(stop);
  const tail = forwardOutput(name, child);
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was healthy:\n${tail()}`);
    if ((await httpStatus(`${url}${opts.health}`)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not healthy within 60 s:\n${tail()}`);
    }
    await sleep(200);
  }
  return { name, url, pid: child.pid!, child, stop };
}

/**
 * A hub node: `node --import tsx server/index.ts` on a free port, on an already migrated database
 * (MIGRATE_ON_START=false), warnings only. Without `redis` it runs as a single node, even when
 * REDIS_URL is set. BENCH_HUB_NODE_ARGS adds node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/hub-prof".
 */
export async function startHub(opts: { name: string; dbUrl: string; redis?: { url: string; prefix: string }; nodeArgs?: string[]; env?: NodeJS.ProcessEnv }): Promise<Server> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    DATABASE_URL: opts.dbUrl,
    MIGRATE_ON_START: 'false',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  delete env.REDIS_URL;
  if (opts.redis) Object.assign(env, { REDIS_URL: opts.redis.url, REDIS_PREFIX: opts.redis.prefix });
  const nodeArgs = opts.nodeArgs ?? ['--import', 'tsx'];
  const extra = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const hub = await startServer({ name: opts.name, args: [...extra, ...nodeArgs, 'server/index.ts'], env, port, health: '/api/v1/attendance/health' });
  say(
    `${opts.name}: hub (node ${[...extra, ...nodeArgs].join(' ')} server/index.ts) healthy on ${hub.url}, pid ${hub.pid}, ` +
      (opts.redis ? `Redis ${opts.redis.url}, keys under ${opts.redis.prefix}` : 'no Redis (single node)'),
  );
  return hub;
}

// A bench is one client sending thousands of requests a second from one address, often with one
// token: the abuse limits are not what it measures.
export const UNLIMITED = { RATE_LIMIT_PER_TOKEN: '10000000', RATE_LIMIT_PER_IP: '10000000', SOCKETS_PER_TOKEN: '1000000', SOCKETS_PER_IP: '1000000' };

/** An API token made through the hub's own API with its admin token; its secret. */
export async function createToken(hubUrl: string, adminToken: string, body: object): Promise<string> {
  const res = await fetch(`${hubUrl}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`creating a token answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { data: { token: string } }).data.token;
}
