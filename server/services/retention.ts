import type { Knex } from '../db/knex.js';
import type { Logger } from '../logger.js';
import { pruneEvents } from '../repositories/events.js';

export type Retention = ReturnType<typeof createRetention>;

const DAY_MS = 86_400_000;
// Bounded work per run: a larger backlog (the first run over years of events) is left to the next runs.
const MAX_BATCHES_PER_RUN = 100;
// The first run comes this soon after start (or one interval, if shorter): the node serves first.
const FIRST_RUN_MS = 30_000;

/**
 * Event retention: events committed more than `days` ago are deleted, `batchSize` at a time, each
 * batch a short transaction of its own that check-ins never wait for (repositories/events.ts). The
 * check-ins themselves, the attendance record, are kept, and so is everything the ledger judges by
 * (it reads check-ins, never events). Runs once shortly after start, then every interval; every node
 * runs it, and a node that finds another pruning leaves it the work. `days` 0 keeps events forever.
 * `now` is the clock the age is measured by (tests move it).
 */
export function createRetention(deps: { db: Knex; logger: Logger; days: number; intervalMs: number; batchSize: number; now?: () => number }) {
  const { db, logger, days, intervalMs, batchSize } = deps;
  const now = deps.now ?? Date.now;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;

  /** One run: batches until nothing old is left, another node is pruning, or the run's bound is reached. */
  async function run(): Promise<{ pruned: number; prunedThrough: number | null; batches: number }> {
    let pruned = 0;
    let prunedThrough: number | null = null;
    let batches = 0;
    if (days === 0) return { pruned, prunedThrough, batches };
    const before = new Date(now() - days * DAY_MS);
    while (batches < MAX_BATCHES_PER_RUN && !stopped) {
      const batch = await pruneEvents(db, { before, limit: batchSize });
      if (!batch.locked) break;
      batches++;
      pruned += batch.pruned;
      prunedThrough = batch.prunedThrough;
      if (batch.pruned < batchSize) break;
    }
    if (pruned) logger.info({ pruned, prunedThrough, batches, before }, 'pruned events older than EVENT_RETENTION_DAYS');
    return { pruned, prunedThrough, batches };
  }

  function schedule(ms: number): void {
    timer = setTimeout(() => {
      timer = null;
      running = run()
        .catch((err) => logger.warn({ err: (err as Error).message }, 'event retention run failed; trying again at the next interval'))
        .finally(() => {
          running = null;
          if (!stopped) schedule(intervalMs);
        });
    }, ms).unref();
  }

  return {
    run,
    start(): void {
      if (days > 0) schedule(Math.min(FIRST_RUN_MS, intervalMs));
    },
    /** No new run; one under way ends after its current batch. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
