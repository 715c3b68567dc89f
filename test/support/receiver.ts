import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = { headers: http.IncomingHttpHeaders; body: string; at: number };

/** How the receiver answers: a status, or `hang` (read the request, never answer). */
export type Answer = number | 'hang';

export type ReceiverOptions = {
  /** Answer only after this long (a slow receiver). */
  delayMs?: number;
  /** A receiver that checks signatures: 401 to a request it does not accept. */
  accepts?: (received: Received) => boolean;
};

/**
 * A webhook receiver on 127.0.0.1: records every request, answers as told (2xx by default), can go
 * down and come back on the same port, and notes the most requests it ever had open at once.
 */
export async function startReceiver(answer: Answer = 204, opts: ReceiverOptions = {}) {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  let open = 0;
  let mostOpen = 0;
  let port = 0;
  let server: http.Server;
  const state = { answer };

  const listen = async () => {
    server = http.createServer((req, res) => {
      open++;
      mostOpen = Math.max(mostOpen, open);
      res.on('close', () => open--);
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const got = { headers: req.headers, body, at: Date.now() };
        received.push(got);
        if (state.answer === 'hang') return void hanging.add(res);
        const status = opts.accepts && !opts.accepts(got) ? 401 : state.answer;
        if (opts.delayMs) setTimeout(() => res.writeHead(status).end(), opts.delayMs);
        else res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const close = async () => {
    for (const res of hanging) res.destroy();
    hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen();

  return {
    get url() {
      return `http://127.0.0.1:${port}/hook`;
    },
    received,
    /** What it will answer from now on. */
    answer(a: Answer) {
      state.answer = a;
    },
    /** The deliveries of events (not pings), parsed, in the order they arrived. */
    events: () => received.filter((r) => r.headers['x-hub-event'] !== 'ping').map((r) => JSON.parse(r.body) as { seq: number; name: string; siteId: string | null; employeeId: string | null; payload: Record<string, unknown> }),
    mostOpen: () => mostOpen,
    down: close,
    up: listen,
    close,
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
