import type { Logger } from '../logger.js';
import type { HubEvent } from '../repositories/events.js';

export type EventStream = ReturnType<typeof createEventStream>;

const PAGE = 1000;

/**
 * The node's view of the global event stream. Events arrive from this node's commits and, over Redis,
 * from other nodes', in any order and possibly not at all (a node can die between commit and publish,
 * Redis can drop messages). They are handed to `deliver` strictly in seq order, each exactly once, a
 * contiguous run at a time: a hole that stays open for gapMs is filled from PostgreSQL, and a poll of
 * the committed head every pollMs catches events nobody announced (within two polls).
 */
export function createEventStream(deps: {
  readAfter: (after: number, limit: number) => Promise<HubEvent[]>;
  readHead: () => Promise<number>;
  /** Called with each run of events that became contiguous, in seq order. */
  deliver: (events: HubEvent[]) => void;
  logger: Logger;
  gapMs?: number;
  pollMs?: number;
}) {
  const { readAfter, readHead, deliver, logger } = deps;
  const gapMs = deps.gapMs ?? 50;
  const pollMs = deps.pollMs ?? 500;
  const pending = new Map<number, HubEvent>();
  let delivered = 0;
  // Until the head is known (PostgreSQL may be down at start) nothing is delivered.
  let started = false;
  let gapTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let filling: Promise<void> | null = null;
  let stopped = false;
  // The head the previous poll saw. Under load the head is nearly always ahead of what has been
  // delivered, by announcements still on their way; only what stayed missing a whole poll is read.
  let polledHead = 0;

  function offer(events: HubEvent[]): void {
    if (!started) return;
    for (const e of events) if (e.seq > delivered) pending.set(e.seq, e);
    const run: HubEvent[] = [];
    for (let next = pending.get(delivered + 1); next; next = pending.get(delivered + 1)) {
      pending.delete(next.seq);
      delivered = next.seq;
      run.push(next);
    }
    if (run.length) deliver(run);
    if (pending.size && !gapTimer && !stopped) gapTimer = setTimeout(fill, gapMs);
  }

  /** Read everything after the delivered head from PostgreSQL: committed seqs have no holes there. */
  function fill(): Promise<void> {
    if (gapTimer) clearTimeout(gapTimer);
    gapTimer = null;
    if (!started) return poll();
    filling ??= (async () => {
      try {
        for (;;) {
          const events = await readAfter(delivered, PAGE);
          offer(events);
          if (events.length < PAGE || stopped) break;
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message, delivered }, 'event stream catch-up from PostgreSQL failed; retrying');
        if (!gapTimer && !stopped) gapTimer = setTimeout(fill, Math.max(gapMs, 500));
      } finally {
        filling = null;
      }
    })();
    return filling;
  }

  async function poll(): Promise<void> {
    try {
      const head = await readHead();
      if (!started) begin(head);
      else if (delivered < Math.min(polledHead, head)) await fill();
      polledHead = head;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'event stream could not read the head');
    }
  }

  /** Begin at the committed head: later events are delivered, earlier ones only replayed on request. */
  function begin(head: number) {
    delivered = head;
    started = true;
  }

  return {
    async start(): Promise<void> {
      pollTimer = setInterval(() => void poll(), pollMs);
      pollTimer.unref();
      await poll();
    },
    offer,
    /** Highest seq handed to deliver; everything at or below it has been delivered. */
    get delivered() {
      return delivered;
    },
    /** Catch up now (after a reconnect to Redis, say). */
    catchUp: fill,
    async stop(): Promise<void> {
      stopped = true;
      if (gapTimer) clearTimeout(gapTimer);
      if (pollTimer) clearInterval(pollTimer);
      await filling;
    },
  };
}
