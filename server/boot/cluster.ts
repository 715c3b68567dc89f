import { setupPrimary as setupClusterAdapterPrimary } from '@socket.io/cluster-adapter';
import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { sumWorkerMetrics } from '../metrics/cluster.js';
import type { HubIo } from '../realtime/server.js';

/** Between the primary and its workers. */
type ToWorker = { type: 'hub:connection'; head: Buffer } | { type: 'hub:shutdown' };
type ToPrimary = { type: 'hub:ready' };

// An engine.io session id in a request line (polling requests, and the upgrade of a polled session).
// Workers make their session ids `<worker id>.<random>`, so the id says where the session lives: nothing
// to look up, and no race with a message from the worker announcing it.
const SESSION = /[?&]sid=(\d+)\./;
// A worker that dies this soon after it started is crash-looping: wait before starting another.
const QUICK_DEATH_MS = 5000;
// Longer than any request line the hub serves (URLs are short); past it the connection is handed over as is.
const MAX_REQUEST_LINE = 8192;
const UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const RESTART_DELAY_MS = 1000;
const SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * The primary of WORKERS processes behind one port. It owns the port and hands each connection to a
 * worker: a Socket.IO long-polling request to the worker that holds its session (engine.io sessions
 * live in one process), anything else in turn. It reads only a connection's first bytes, to see the
 * session id, and hands the socket itself over, so a worker's keep-alive connections are its own and
 * cost the primary nothing more. A worker that dies is replaced; its sockets reconnect elsewhere and
 * resume by seq. Without Redis, the workers share broadcasts and counters through the primary.
 */
export async function runPrimary(config: Config, logger: Logger, env: Record<string, string>): Promise<{ stop(): Promise<void> }> {
  cluster.setupPrimary({ serialization: 'advanced' });
  if (!config.REDIS_URL) {
    setupClusterAdapterPrimary();
    new RateLimiterClusterMaster();
  }
  const ready: Worker[] = [];
  sumWorkerMetrics(() => ready);
  let turn = 0;
  let stopping = false;
  let running = false;
  let allReady!: () => void;
  let failed!: (err: Error) => void;
  const started = new Promise<void>((resolve, reject) => ((allReady = resolve), (failed = reject)));

  const start = () => {
    const worker = cluster.fork(env);
    const born = Date.now();
    worker.on('message', (m: ToPrimary) => {
      // The adapter, the rate limiters and the metrics talk over this channel too.
      if (m.type !== 'hub:ready') return;
      ready.push(worker);
      if (running) logger.info({ worker: worker.process.pid }, 'replacement worker serving');
      if (ready.length === config.WORKERS) allReady();
    });
    // Its channel closes first (a worker killed outright): no connection is handed to it after that.
    worker.once('disconnect', () => {
      const at = ready.indexOf(worker);
      if (at >= 0) ready.splice(at, 1);
    });
    worker.once('exit', (code, signal) => {
      const at = ready.indexOf(worker);
      if (at >= 0) ready.splice(at, 1);
      if (stopping) return;
      // At start-up a worker that cannot start means the hub cannot; later it is replaced like any other.
      if (at < 0 && !running) return failed(new Error(`a worker exited (code ${code}, signal ${signal}) before it was ready`));
      logger.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
      setTimeout(start, Date.now() - born < QUICK_DEATH_MS ? RESTART_DELAY_MS : 0).unref();
    });
  };
  for (let i = 0; i < config.WORKERS; i++) start();

  const server = net.createServer((socket) => {
    // A connection that never says anything is not held here longer than a worker would hold it.
    socket.setTimeout(config.HTTP_HEADERS_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const head = Buffer.concat(chunks);
      const lineEnd = head.indexOf('\r\n');
      // The session id is in the request line: wait for all of it (a client may send it in pieces).
      if (lineEnd < 0 && head.length < MAX_REQUEST_LINE) return;
      socket.off('data', onData);
      // Stop reading from the kernel: once the socket is sent, whatever this process read next would be
      // dropped, and the rest of the request must reach the worker whole.
      stopReading(socket);
      socket.setTimeout(0);
      const owner = SESSION.exec(head.subarray(0, lineEnd < 0 ? head.length : lineEnd).toString('latin1'))?.[1];
      // A session whose worker is gone goes to any: that worker answers "session unknown" and the client starts afresh.
      const holder = owner === undefined ? undefined : ready.find((w) => w.id === Number(owner));
      const worker = holder ?? ready[turn++ % Math.max(ready.length, 1)];
      if (!worker) return void socket.end(UNAVAILABLE);
      // Kept open here until the worker has its own descriptor: one that died meanwhile cannot take it,
      // and the client is then told so instead of holding a connection nobody serves.
      worker.send({ type: 'hub:connection', head } satisfies ToWorker, socket, { keepOpen: true }, (err) =>
        err ? socket.end(UNAVAILABLE) : socket.destroy(),
      );
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  await started;
  running = true;
  logger.info({ workers: config.WORKERS, port: config.PORT }, 'workers ready');

  return {
    /** Stop taking connections, let every worker settle what it took and exit, then return. */
    async stop() {
      stopping = true;
      server.close();
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              const force = setTimeout(() => worker.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
              worker.once('exit', () => {
                clearTimeout(force);
                resolve();
              });
              worker.send({ type: 'hub:shutdown' } satisfies ToWorker);
            }),
        ),
      );
    },
  };
}

/**
 * A socket about to be sent to a worker must leave the rest of its bytes in the kernel: whatever this
 * process reads once the socket is sent is dropped. Readable.pause() only stops emitting, and the
 * stream asks for more on the next tick (maybeReadMore), which would start the handle reading again:
 * so the handle stops, and this stream's _read no longer starts it.
 */
function stopReading(socket: net.Socket): void {
  socket.pause();
  socket._read = () => undefined;
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop(): number } })._handle;
  if (handle?.reading) {
    handle.reading = false;
    handle.readStop();
  }
}

/**
 * A worker's side: take the connections the primary hands over, name its Socket.IO sessions after
 * itself, and shut down when it says so. A polling answer closes its connection, so each poll comes
 * back through the primary, which sends it to this session's worker.
 */
export function serveForPrimary(server: http.Server, io: HubIo, shutdown: () => void): void {
  const tell = (m: ToPrimary) => process.send?.(m, undefined, undefined, () => undefined);
  // Node checks header and request timeouts from when its server emits 'listening'; this server never
  // listens (it is handed its connections), so it is told that it does.
  server.emit('listening');
  process.on('message', (m: ToWorker, socket?: net.Socket) => {
    if (m.type === 'hub:shutdown') return shutdown();
    if (!socket) return;
    server.emit('connection', socket);
    socket.unshift(m.head);
    socket.resume();
  });
  io.engine.generateId = () => `${cluster.worker!.id}.${randomBytes(15).toString('base64url')}`;
  io.engine.on('headers', (headers: Record<string, string>, req: { _query?: { transport?: string } }) => {
    if (req._query?.transport === 'polling') headers.Connection = 'close';
  });
  tell({ type: 'hub:ready' });
}
