import net from 'node:net';

/**
 * A TCP proxy in front of a dependency (PostgreSQL, Redis) that a fault test controls, so the test can
 * freeze or kill the dependency as the hub sees it without touching the machine's shared servers.
 *
 * - pass():  forward bytes both ways (new connections are opened upstream).
 * - stall(): a frozen server (SIGSTOP): connections stay open and new ones are accepted, but no byte
 *            moves either way. Bytes are held, not dropped, so pass() delivers them late, as a server
 *            woken by SIGCONT would (a COMMIT sent during the freeze may still happen).
 * - cut():   a server that is down: every connection is reset, and new ones are reset on accept.
 */
export type TcpProxy = {
  port: number;
  /** The target URL with its host and port swapped for the proxy's. */
  url: string;
  pass(): void;
  stall(): void;
  cut(): void;
  close(): Promise<void>;
};

type Mode = 'pass' | 'stall' | 'cut';
type Pair = { client: net.Socket; upstream: net.Socket | null };

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379 };

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const targetUrl = new URL(target);
  const host = targetUrl.hostname;
  const port = Number(targetUrl.port || DEFAULT_PORTS[targetUrl.protocol]);
  let mode: Mode = 'pass';
  const pairs = new Set<Pair>();

  // Chunks are handed on by hand, not piped: a pipe resumes its source on 'drain', which would undo a stall.
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => mode === 'pass' && from.resume());
    // Half-closes travel on (after the bytes before them), so a client that sent COMMIT and left still commits.
    from.on('end', () => to.end());
  };

  const reset = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream?.resetAndDestroy();
  };

  const openUpstream = (pair: Pair) => {
    const upstream = net.connect({ host, port, allowHalfOpen: true });
    pair.upstream = upstream;
    upstream.pause();
    // Upstream refuses (a stopped server): so does the proxy.
    upstream.on('error', () => reset(pair));
    upstream.once('connect', () => {
      forward(pair.client, upstream);
      forward(upstream, pair.client);
      if (mode === 'pass') {
        pair.client.resume();
        upstream.resume();
      }
    });
    upstream.on('close', () => pair.client.destroySoon());
  };

  // pauseOnConnect: nothing is read from a new client until the proxy decides to forward.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    if (mode === 'cut') return void client.resetAndDestroy();
    const pair: Pair = { client, upstream: null };
    pairs.add(pair);
    client.on('error', () => reset(pair));
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroySoon();
    });
    if (mode === 'pass') openUpstream(pair);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const own = (server.address() as net.AddressInfo).port;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(own);

  return {
    port: own,
    url: url.toString(),
    pass() {
      mode = 'pass';
      for (const pair of pairs) {
        // Accepted during a stall: the upstream connection is only opened now, as a woken server would accept it.
        if (!pair.upstream) openUpstream(pair);
        else if (!pair.upstream.connecting) {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    stall() {
      mode = 'stall';
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream?.pause();
      }
    },
    cut() {
      mode = 'cut';
      for (const pair of [...pairs]) reset(pair);
    },
    async close() {
      mode = 'cut';
      for (const pair of [...pairs]) reset(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
