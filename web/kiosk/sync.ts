import type { BatchItemResult, CheckinInput } from '../../shared/schemas.js';
import type { Api } from '../lib/api.js';
import type { Outbox, QueuedPunch } from './outbox.js';

/** Refusals that are not the punch's fault: it stays queued and is sent again later. */
const KEEP = new Set(['unauthenticated', 'rate_limited', 'pin_attempts_exceeded']);
const BATCH = 500;
const FIRST_RETRY_MS = 2000;
const LAST_RETRY_MS = 30_000;

/** The body of a punch as the hub takes it: what the kiosk keeps for the screen stays here. */
export function toInput(p: QueuedPunch, queued: boolean): CheckinInput {
  const { name: _, occurredAt, ...input } = p;
  // Sent live, the hub's clock times the punch; sent from the queue, the moment it was made.
  return queued ? { ...input, occurredAt } : input;
}

export type SyncReport = { waiting: number; refused: Array<{ punch: QueuedPunch; message: string }> };

/**
 * Sends the queued punches through the batch endpoint whenever the hub may be back: at start, when
 * the browser comes online, and on a backing-off timer while any wait. One run at a time; punches
 * being sent live are left to that send.
 */
export function createSync(opts: { api: () => Api; outbox: Outbox; sendingLive: ReadonlySet<string>; onReport(r: SyncReport): void }) {
  let running: Promise<void> | null = null;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = FIRST_RETRY_MS;

  const once = async () => {
    const queued = (await opts.outbox.all()).filter((p) => !opts.sendingLive.has(p.eventId));
    const refused: SyncReport['refused'] = [];
    for (let i = 0; i < queued.length; i += BATCH) {
      const chunk = queued.slice(i, i + BATCH);
      try {
        const { data } = await opts.api().post<{ data: BatchItemResult[] }>('/api/v1/checkins/batch', { punches: chunk.map((p) => toInput(p, true)) });
        const byId = new Map(chunk.map((p) => [p.eventId, p]));
        const settled: string[] = [];
        for (const r of data) {
          const punch = r.eventId ? byId.get(r.eventId) : undefined;
          if (!punch || (r.status === 'rejected' && KEEP.has(r.error?.code ?? ''))) continue;
          settled.push(punch.eventId);
          if (r.status === 'rejected') refused.push({ punch, message: r.error?.message ?? 'refused' });
        }
        await opts.outbox.remove(settled);
      } catch {
        // Unreachable, or refused as a whole (a token that no longer works): everything stays queued.
        break;
      }
    }
    const waiting = (await opts.outbox.all()).length;
    opts.onReport({ waiting, refused });
    clearTimeout(timer);
    if (waiting > 0) {
      timer = setTimeout(run, delay);
      delay = Math.min(delay * 2, LAST_RETRY_MS);
    } else delay = FIRST_RETRY_MS;
  };

  function run(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = once()
      .catch(() => undefined)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          void run();
        }
      });
    return running;
  }

  return {
    /** Try now (the hub may be back); a run in progress is followed by one more. */
    now(): Promise<void> {
      delay = FIRST_RETRY_MS;
      return run();
    },
  };
}
