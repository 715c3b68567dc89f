import { randomUUID } from 'node:crypto';
import type { Knex } from '../../db/knex.js';
import { SincePrunedError } from '../../errors.js';
import type { HubEvent } from '../../events/event.js';
import type { RepeatLog } from '../../logger.js';
import { advance, anyActiveWebhook, claimDue, disable, failed, insertDelivery, pruneDeliveries, release, type Acknowledged, type Endpoint } from '../../repositories/webhooks.js';
import type { FeedService } from '../feed.js';
import { backoffMs } from './backoff.js';
import { send } from './send.js';

export type DispatchSettings = {
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** An endpoint failing for this long is disabled. */
  disableAfterMs: number;
  /** How often due retries and orphaned leases are looked for (new events wake the dispatcher at once). */
  pollMs: number;
  leaseMs: number;
  /** Endpoints this node delivers to at once. */
  concurrency: number;
  /** Delivery attempts are kept this long. */
  logDays: number;
};

export type Dispatcher = ReturnType<typeof createDispatcher>;

const PAGE = 100;
// The latest events this node's stream handed over, for endpoints close behind: read from memory, not PostgreSQL.
const RECENT_MAX = 20_000;
// Acknowledgements are written together: those that come in within this window (or while a write is
// in flight) share one statement. Each endpoint waits for its own before it sends its next event, so a
// longer window costs every event that much latency; a write per acknowledgement costs the database
// (and this node) a round trip per delivered event.
const POSITION_WINDOW_MS = 2;
// An endpoint that has caught up keeps its lease this long for what comes next: under a steady flow
// of events it is delivered to without being claimed and given back for each one.
const LINGER_MS = 1000;
// Delivery log rows older than the log keeps are deleted once a minute, up to PRUNE_ROUNDS batches:
// 200,000 a minute, more than a node delivering thousands of events a second writes.
const PRUNE_BATCH = 20_000;
const PRUNE_ROUNDS = 10;

/**
 * Delivers committed events to webhook endpoints, from PostgreSQL: each endpoint's position is the
 * last seq its receiver acknowledged, so whatever node delivers, and after any crash, it resumes there.
 * A node takes an endpoint's lease before it delivers (one node at a time per endpoint) and sends its
 * matching events one at a time in seq order, recording each acknowledgement before the next; a
 * failure gives the lease back with a backoff, so a failing or slow endpoint holds up only itself.
 */
export function createDispatcher(deps: { db: Knex; feed: Pick<FeedService, 'head' | 'matching'>; log: RepeatLog; settings: DispatchSettings; random?: () => number }) {
  const { db, feed, log, settings } = deps;
  const owner = randomUUID();
  const running = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  let claiming: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  // Whether any endpoint is active, as of the last poll (or a change on this node): with none, a commit
  // costs the database nothing here.
  let anyActive = true;
  type Pending = { id: string; through: number; delivered?: Acknowledged; resolve: (held: boolean) => void; reject: (err: unknown) => void };
  let pending: Pending[] = [];
  let writing = false;
  let window: NodeJS.Timeout | undefined;
  const writePositions = async () => {
    window = undefined;
    const batch = pending;
    pending = [];
    writing = true;
    try {
      const moved = await advance(db, { owner, leaseMs: settings.leaseMs, rows: batch.map(({ id, through, delivered }) => ({ id, through, delivered })) });
      for (const p of batch) p.resolve(moved.has(p.id));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      writing = false;
      // What came in during the write has waited long enough: it goes now.
      if (pending.length) void writePositions();
    }
  };
  /** Whether the position (and the acknowledged delivery, if one moved it) was written: this node still holds the lease. */
  const record = (id: string, through: number, delivered?: Acknowledged): Promise<boolean> =>
    new Promise((resolve, reject) => {
      pending.push({ id, through, delivered, resolve, reject });
      if (!writing && !window) window = setTimeout(() => void writePositions(), POSITION_WINDOW_MS);
    });

  // A contiguous run of the latest committed events (the stream hands them over in seq order, each once).
  let recent: HubEvent[] = [];
  /** The events after `through`, up to `limit`, if memory holds all of them from there (else null: read PostgreSQL). */
  const fromMemory = (through: number, limit: number): HubEvent[] | null => {
    const first = recent[0]?.seq;
    if (first === undefined || through < first - 1) return null;
    return recent.slice(through - first + 1, through - first + 1 + limit);
  };
  const matches = (endpoint: Endpoint, event: HubEvent) =>
    (!endpoint.sites.length || (event.siteId !== null && endpoint.sites.includes(event.siteId))) && (!endpoint.events.length || endpoint.events.includes(event.name));

  // Resolved (and replaced) whenever events are committed: endpoints that caught up wait on it.
  let announce!: () => void;
  let committed = new Promise<void>((resolve) => (announce = resolve));
  const signalCommit = () => {
    announce();
    committed = new Promise<void>((resolve) => (announce = resolve));
  };
  const nextCommit = (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([committed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
  };

  /** Claim due endpoints until none is left or this node is busy enough; a wake-up meanwhile claims again after. */
  function wake(): Promise<void> {
    if (stopping.signal.aborted || !anyActive) return Promise.resolve();
    if (claiming) {
      again = true;
      return claiming;
    }
    claiming = (async () => {
      do {
        again = false;
        while (!stopping.signal.aborted && running.size < settings.concurrency) {
          const endpoint = await claimDue(db, { owner, leaseMs: settings.leaseMs, skip: [...running.keys()] });
          if (!endpoint) break;
          const run = deliver(endpoint)
            .catch((err: unknown) => log('warn', `webhook:${(err as Error)?.message}`, { err, webhook: endpoint.id }, 'webhook delivery stopped; another attempt follows'))
            .finally(() => {
              running.delete(endpoint.id);
              void wake();
            });
          running.set(endpoint.id, run);
        }
      } while (again && !stopping.signal.aborted);
    })()
      .catch((err: unknown) => log('warn', `webhook-claim:${(err as Error)?.message}`, { err }, 'could not look for due webhooks; retrying'))
      .finally(() => {
        claiming = null;
      });
    return claiming;
  }

  /** Everything the endpoint is owed, in seq order, while it acknowledges and this node holds its lease. */
  async function deliver(endpoint: Endpoint): Promise<void> {
    const ids = { id: endpoint.id, owner };
    let through = endpoint.deliveredThrough;
    let attempt = endpoint.attempts + 1;
    let caughtUpAt: number | null = null;
    try {
      for (;;) {
        if (stopping.signal.aborted) return;
        // Close behind, the events come from memory; further back (or on a node that just started), from PostgreSQL.
        const cached = fromMemory(through, PAGE);
        const head = cached ? through + cached.length : await feed.head();
        if (through >= head) {
          caughtUpAt ??= Date.now();
          if (Date.now() - caughtUpAt >= LINGER_MS) return;
          await nextCommit(LINGER_MS - (Date.now() - caughtUpAt));
          continue;
        }
        caughtUpAt = null;
        let page: HubEvent[];
        try {
          page = cached ?? (await feed.matching({ after: through, upTo: head, sites: endpoint.sites.length ? endpoint.sites : undefined, within: 'all', limit: PAGE }));
        } catch (err) {
          if (!(err instanceof SincePrunedError)) throw err;
          await disable(db, { ...ids, reason: `events after seq ${through} were pruned before they were delivered: redeliver from a seq still kept, or re-enable to go on after them` });
          return;
        }
        for (const event of page) {
          if (!matches(endpoint, event)) continue;
          const body = JSON.stringify(event);
          const outcome = await send(endpoint, { event: event.name, delivery: String(event.seq), body }, { timeoutMs: settings.timeoutMs, abort: stopping.signal });
          // A send cut short by shutdown is no failure of the receiver's: the next holder sends it again.
          if (stopping.signal.aborted && !outcome.ok) return;
          if (!outcome.ok) {
            await insertDelivery(db, { webhookId: endpoint.id, seq: event.seq, event: event.name, attempt, ...outcome });
            const delayMs = backoffMs(attempt, settings.retryBaseMs, settings.retryMaxMs, deps.random);
            await failed(db, { ...ids, error: outcome.error!, delayMs, disableAfterMs: settings.disableAfterMs });
            return;
          }
          // The acknowledged delivery is logged in the statement that records the position it moves.
          if (!(await record(endpoint.id, event.seq, { seq: event.seq, event: event.name, attempt, status: outcome.status, durationMs: outcome.durationMs }))) return;
          through = event.seq;
          attempt = 1;
        }
        // Nothing more of this page was the endpoint's: its position moves past it (past the head on the last page).
        const reached = cached ? head : page.length < PAGE ? head : page.at(-1)!.seq;
        if (reached > through) {
          if (!(await record(endpoint.id, reached))) return;
          through = reached;
        }
      }
    } finally {
      await release(db, ids).catch(() => undefined);
    }
  }

  async function poll(): Promise<void> {
    anyActive = await anyActiveWebhook(db).catch(() => true);
    await wake();
    if (Date.now() - lastPrune < 60_000) return;
    lastPrune = Date.now();
    // Batch after batch, each its own short statement, until what is left is younger than the log keeps.
    const before = new Date(Date.now() - settings.logDays * 86_400_000);
    for (let round = 0; round < PRUNE_ROUNDS; round++) {
      const pruned = await pruneDeliveries(db, { before, limit: PRUNE_BATCH }).catch(() => 0);
      if (pruned < PRUNE_BATCH) break;
    }
  }

  return {
    owner,
    /** Committed events, every one in seq order (the node's event stream): deliver them now rather than at the next poll. */
    observe(events: HubEvent[]) {
      // With no endpoint to deliver to, nothing is kept (a node would otherwise hold 20,000 events for nobody).
      if (!anyActive) {
        recent = [];
        return;
      }
      if (events.length && recent.length && events[0]!.seq !== recent.at(-1)!.seq + 1) recent = [];
      recent.push(...events);
      if (recent.length > RECENT_MAX) recent = recent.slice(recent.length - RECENT_MAX / 2);
      signalCommit();
      void wake();
    },
    /** An endpoint was created, re-enabled or rewound on this node: look now. */
    changed() {
      anyActive = true;
      void wake();
    },
    start() {
      timer = setInterval(() => void poll(), settings.pollMs);
      timer.unref();
      void poll();
    },
    /** Stop claiming, cut in-flight sends short and give every lease back. */
    async stop() {
      clearInterval(timer);
      stopping.abort();
      signalCommit();
      await claiming;
      await Promise.all(running.values());
    },
  };
}
