import { SincePrunedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { HubEvent } from './event.js';

export type EventStream = ReturnType<typeof createEventStream>;
export type StreamListener = (events: HubEvent[]) => void;
/** Events in (from, to] were pruned before this node delivered them: they never will be. */
export type SkipListener = (from: number, to: number) => void;

/** The timers the stream runs on; tests hand it their own to move time by hand. */
export type Timers = {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
};

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

const PAGE = 1000;

/**
 * The node's view of the global event stream. Events arrive from this node's commits and, over Redis,
 * from other nodes', in any order and possibly not at all (a node can die between commit and publish,
 * Redis can drop messages). They are handed to every listener strictly in seq order, each exactly
 * once, a contiguous run at a time: a hole that stays open for gapMs is filled from PostgreSQL, and a
 * poll of the committed head every pollMs catches events nobody announced (within two polls). A
 * node so far behind that the events it lacks were pruned (EVENT_RETENTION_DAYS) goes on after them.
 */
export function createEventStream(deps: {
  readAfter: (after: number, limit: number) => Promise<HubEvent[]>;
  readHead: () => Promise<number>;
  logger: Logger;
  gapMs?: number;
  pollMs?: number;
  timers?: Timers;
}) {
  const { readAfter, readHead, logger } = deps;
  const gapMs = deps.gapMs ?? 50;
  const pollMs = deps.pollMs ?? 500;
  const timers = deps.timers ?? realTimers;
  const listeners: StreamListener[] = [];
  const skipListeners: SkipListener[] = [];
  const pending = new Map<number, HubEvent>();
  let delivered = 0;
  // Until the head is known (PostgreSQL may be down at start) nothing is delivered.
  let started = false;
  let gapTimer: unknown = null;
  let pollTimer: unknown = null;
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
    if (run.length) for (const listener of listeners) listener(run);
    if (pending.size && gapTimer === null && !stopped) gapTimer = timers.setTimeout(fill, gapMs);
  }

  /** Read everything after the delivered head from PostgreSQL: committed seqs have no holes there. */
  function fill(): Promise<void> {
    if (gapTimer !== null) timers.clearTimeout(gapTimer);
    gapTimer = null;
    if (!started) return poll();
    filling ??= (async () => {
      try {
        for (;;) {
          let events: HubEvent[];
          try {
            events = await readAfter(delivered, PAGE);
          } catch (err) {
            if (!(err instanceof SincePrunedError) || err.prunedThrough <= delivered) throw err;
            skip(err.prunedThrough);
            continue;
          }
          offer(events);
          if (events.length < PAGE || stopped) break;
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message, delivered }, 'event stream catch-up from PostgreSQL failed; retrying');
        if (gapTimer === null && !stopped) gapTimer = timers.setTimeout(fill, Math.max(gapMs, 500));
      } finally {
        filling = null;
      }
    })();
    return filling;
  }

  /**
   * Waiting for pruned events would stall the stream for good: they are gone for every reader. Go on
   * after them and say so; the skip listeners decide what those who relied on this node do.
   */
  function skip(to: number): void {
    const from = delivered;
    logger.warn({ from, to }, 'events this node had not delivered were pruned (EVENT_RETENTION_DAYS); going on after them');
    for (const seq of pending.keys()) if (seq <= to) pending.delete(seq);
    delivered = to;
    for (const listener of skipListeners) listener(from, to);
  }

  async function poll(): Promise<void> {
    try {
      const head = await readHead();
      if (!started) {
        // Begin at the committed head: later events are delivered, earlier ones only replayed on request.
        delivered = head;
        started = true;
      } else if (delivered < Math.min(polledHead, head)) await fill();
      polledHead = head;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'event stream could not read the head');
    }
  }

  return {
    /** Every contiguous run of events, in seq order, from now on. */
    subscribe(listener: StreamListener): void {
      listeners.push(listener);
    },
    /** Each time the stream goes on past events that were pruned before it delivered them. */
    onSkip(listener: SkipListener): void {
      skipListeners.push(listener);
    },
    async start(): Promise<void> {
      pollTimer = timers.setInterval(() => void poll(), pollMs);
      await poll();
    },
    offer,
    /** Highest seq handed to the listeners; everything at or below it has been delivered. */
    get delivered() {
      return delivered;
    },
    /** Catch up now (after a reconnect to Redis, say). */
    catchUp: fill,
    async stop(): Promise<void> {
      stopped = true;
      if (gapTimer !== null) timers.clearTimeout(gapTimer);
      if (pollTimer !== null) timers.clearInterval(pollTimer);
      await filling;
    },
  };
}
