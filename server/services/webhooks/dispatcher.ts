import { randomUUID } from 'node:crypto';
import type { Knex } from '../../db/knex.js';
import { SincePrunedError } from '../../errors.js';
import type { HubEvent } from '../../events/event.js';
import type { RepeatLog } from '../../logger.js';
import { advance, anyActiveWebhook, claimDue, disable, failed, insertDelivery, pruneDeliveries, release, type Endpoint } from '../../repositories/webhooks.js';
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
const PRUNE_BATCH = 1000;

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
    try {
      for (;;) {
        if (stopping.signal.aborted) return;
        const head = await feed.head();
        if (through >= head) return;
        let page: HubEvent[];
        try {
          page = await feed.matching({ after: through, upTo: head, sites: endpoint.sites.length ? endpoint.sites : undefined, within: 'all', limit: PAGE });
        } catch (err) {
          if (!(err instanceof SincePrunedError)) throw err;
          await disable(db, { ...ids, reason: `events after seq ${through} were pruned before they were delivered: redeliver from a seq still kept, or re-enable to go on after them` });
          return;
        }
        for (const event of page) {
          if (endpoint.events.length && !endpoint.events.includes(event.name)) continue;
          const body = JSON.stringify(event);
          const outcome = await send(endpoint, { event: event.name, delivery: String(event.seq), body }, { timeoutMs: settings.timeoutMs, abort: stopping.signal });
          // A send cut short by shutdown is no failure of the receiver's: the next holder sends it again.
          if (stopping.signal.aborted && !outcome.ok) return;
          // A first try that was acknowledged is recorded as the endpoint's position alone: one write per event, not two.
          if (!outcome.ok || attempt > 1) await insertDelivery(db, { webhookId: endpoint.id, seq: event.seq, event: event.name, attempt, ...outcome });
          if (!outcome.ok) {
            const delayMs = backoffMs(attempt, settings.retryBaseMs, settings.retryMaxMs, deps.random);
            await failed(db, { ...ids, error: outcome.error!, delayMs, disableAfterMs: settings.disableAfterMs });
            return;
          }
          if (!(await advance(db, { ...ids, through: event.seq, leaseMs: settings.leaseMs }))) return;
          through = event.seq;
          attempt = 1;
        }
        // Nothing more of this page was the endpoint's: its position moves past it (past the head on the last page).
        const reached = page.length < PAGE ? head : page.at(-1)!.seq;
        if (reached > through) {
          if (!(await advance(db, { ...ids, through: reached, leaseMs: settings.leaseMs }))) return;
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
    if (Date.now() - lastPrune < 3600_000) return;
    lastPrune = Date.now();
    await pruneDeliveries(db, { before: new Date(Date.now() - settings.logDays * 86_400_000), limit: PRUNE_BATCH }).catch(() => undefined);
  }

  return {
    owner,
    /** New events were committed: deliver them now rather than at the next poll. */
    wake: () => void wake(),
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
      await claiming;
      await Promise.all(running.values());
    },
  };
}
