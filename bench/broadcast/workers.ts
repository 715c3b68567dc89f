/** The driver's side of the dashboard workers (dashboards.ts): start them, ask them, stop them. */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../lib/child.js';
import { siteId } from '../lib/database.js';
import { sleep } from '../lib/print.js';
import { onCleanup } from '../lib/run.js';
import type { NodeProc } from './nodes.js';
import type { Kind, SocketSpec, WorkerRequest } from './protocol.js';

/** A worker child process holding sockets; one request at a time is enough here. */
export class ClientWorker {
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

export async function startWorkers(count: number, label: string): Promise<ClientWorker[]> {
  const workers = Array.from({ length: count }, (_, i) => {
    const child = fork('bench/broadcast/dashboards.ts', [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    onCleanup(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return new ClientWorker(`${label}-clients-${i + 1}`, child);
  });
  await Promise.all(workers.map((w) => w.ready));
  return workers;
}

export async function closeWorkers(workers: ClientWorker[]): Promise<void> {
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
export async function connectSockets(
  workers: ClientWorker[],
  kind: Kind,
  nodes: NodeProc[],
  count: number,
): Promise<{ connected: number; failed: number; seconds: number; errors: string[] }> {
  const specs: SocketSpec[] = Array.from({ length: count }, (_, i) => {
    const node = nodes[i % nodes.length]!;
    const site = siteId(Math.floor(i / nodes.length));
    return { url: node.url, site, node: i % nodes.length, token: node.tokens?.dashboard[site] };
  });
  const per = Math.ceil(count / workers.length);
  const t0 = performance.now();
  const replies = await Promise.all(
    workers.map((w, i) => w.call<{ connected: number; failed: number; errors: string[] }>({ op: 'connect', kind, sockets: specs.slice(i * per, (i + 1) * per), concurrency: 50 })),
  );
  return {
    connected: replies.reduce((s, r) => s + r.connected, 0),
    failed: replies.reduce((s, r) => s + r.failed, 0),
    seconds: (performance.now() - t0) / 1000,
    errors: replies.flatMap((r) => r.errors ?? []).slice(0, 5),
  };
}
