/** Open-loop load: requests due on a fixed schedule, whatever happened to the earlier ones. */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** POST a JSON body; resolves with the answer, rejects on a socket error or after 30 s without one. */
export function post(agent: http.Agent, url: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: hostname, port, method: 'POST', path, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Request i is due at start + i/rate and is sent then, so a stall shows in full in the latency counted
 * from that moment (no coordinated omission). `send` must not reject. With `maxBehind` it stops
 * sending once that many seconds of requests are waiting: the server has fallen behind for good.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  send: (i: number, dueAt: number) => Promise<void>,
  maxBehind = Infinity,
): Promise<{ sent: number; seconds: number; gaveUp: boolean }> {
  const total = Math.round(seconds * rate);
  const pending: Array<Promise<void>> = [];
  let sent = 0;
  let answered = 0;
  let gaveUp = false;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      // Requests 0..⌊elapsed·rate⌋ are due: request i at i/rate, so not one interval late.
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      while (sent < due) {
        pending.push(send(sent, t0 + (sent * 1000) / rate).then(() => void answered++));
        sent++;
      }
      if (sent - answered > maxBehind * rate) {
        gaveUp = true;
        return resolve();
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  return { sent, seconds: (performance.now() - t0) / 1000, gaveUp };
}
