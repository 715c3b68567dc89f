import http from 'node:http';
import https from 'node:https';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from '../../../shared/webhooks.js';
import { signature } from './signature.js';

export type SendOutcome = { ok: boolean; status: number | null; error: string | null; durationMs: number };

// Connections to receivers are kept open between deliveries: most endpoints get event after event.
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 4 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 4 }) };

/**
 * One signed POST and how it went: a 2xx is an acknowledgement; anything else, a redirect (never
 * followed: a receiver that moved must be updated), a timeout or a network error is a failure.
 * `abort` ends it early (the node is shutting down). node:http rather than fetch: a delivery costs
 * the hub a fraction of the CPU (no WHATWG streams or AbortSignal chain per request).
 */
export function send(
  target: { url: string; secret: string },
  message: { event: string; delivery: string; body: string },
  opts: { timeoutMs: number; abort?: AbortSignal; now?: Date },
): Promise<SendOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const url = new URL(target.url);
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const done = (outcome: Omit<SendOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      opts.abort?.removeEventListener('abort', onAbort);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    const req = client.request(url, {
      method: 'POST',
      agent: agents[url.protocol as 'http:' | 'https:'],
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(message.body),
        'user-agent': 'attendance-hub-webhooks',
        [EVENT_HEADER]: message.event,
        [DELIVERY_HEADER]: message.delivery,
        [SIGNATURE_HEADER]: signature(target.secret, message.body, opts.now ?? new Date()),
      },
    });
    const onAbort = () => {
      req.destroy();
      done({ ok: false, status: null, error: 'the node is shutting down' });
    };
    opts.abort?.addEventListener('abort', onAbort, { once: true });
    // The whole exchange, not only a quiet socket: a receiver trickling its answer is cut off too.
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, status: null, error: `no answer within ${opts.timeoutMs} ms` });
    }, opts.timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      // The answer's body is not read (a receiver cannot make the hub hold a large one); the connection goes back to the agent.
      res.resume();
      const ok = res.statusCode! >= 200 && res.statusCode! < 300;
      done({ ok, status: res.statusCode!, error: ok ? null : `HTTP ${res.statusCode}` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done({ ok: false, status: null, error: err.code ?? err.message });
    });
    // A string, not a Buffer: Node then sends the headers and the body in one write (one system call, not a writev of two).
    req.end(message.body);
  });
}
