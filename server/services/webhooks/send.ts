import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from '../../../shared/webhooks.js';
import { signature } from './signature.js';

export type SendOutcome = { ok: boolean; status: number | null; error: string | null; durationMs: number };

/**
 * One signed POST and how it went: a 2xx is an acknowledgement; anything else, a redirect (never
 * followed: a receiver that moved must be updated), a timeout or a network error is a failure.
 * `abort` ends it early (the node is shutting down).
 */
export async function send(
  target: { url: string; secret: string },
  message: { event: string; delivery: string; body: string },
  opts: { timeoutMs: number; abort?: AbortSignal; now?: Date },
): Promise<SendOutcome> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      redirect: 'manual',
      signal: opts.abort ? AbortSignal.any([timeout, opts.abort]) : timeout,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'attendance-hub-webhooks',
        [EVENT_HEADER]: message.event,
        [DELIVERY_HEADER]: message.delivery,
        [SIGNATURE_HEADER]: signature(target.secret, message.body, opts.now ?? new Date()),
      },
      body: message.body,
    });
    // The answer's body is not read: a receiver cannot make the hub hold a large one.
    await res.body?.cancel().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}`, durationMs: elapsed() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = timeout.aborted ? `no answer within ${opts.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    return { ok: false, status: null, error, durationMs: elapsed() };
  }
}
