import { outsideRequests } from './logger.js';

/**
 * Group commit: work submitted while a batch is in flight waits and goes together in the next batch,
 * so one transaction carries many requests (check-ins share one fsync and one hold of the seq lock;
 * presence snapshots share one read). There is never more than one batch in flight per committer, and
 * a batch starts only after everything in it was submitted. A unit submitted together always shares
 * one transaction, and settles only after that transaction has committed.
 */
export type GroupCommitter<I, R> = {
  /** Commit items together; resolves with one result (or Error) per item, in order. */
  submit(items: I[]): Promise<Array<R | Error>>;
  /** Resolves when everything submitted so far has settled. */
  drain(): Promise<void>;
};

/** A committed batch: one result (or Error) per item, and what must happen before its callers hear. */
export type Committed<R> = { results: Array<R | Error>; after?: () => Promise<void> };

export type GroupCommitOptions = {
  maxBatch: number;
  /** Called when the queue runs dry, to let go of what a run of batches held. */
  idle?: () => void;
  /**
   * Whether a failed batch may have failed for one item's sake (bad data, not the database being
   * away). Such a batch is retried apart, unit by unit and a failing unit in halves, so that only the
   * items at fault fail, each with the error that sank it; the rest commit.
   */
  retryApart?: (error: unknown) => boolean;
  /**
   * Whether a failed batch's error will fail the units waiting behind it too (the database is away).
   * They are failed with it at once, instead of one batch after another each waiting out its timeouts.
   */
  failWaiting?: (error: unknown) => boolean;
  /** Told of each batch once it has committed or failed: how many items it carried and how long it took. */
  observe?: (items: number, seconds: number) => void;
};

type Unit<I, R> = { items: I[]; resolve: (r: Array<R | Error>) => void; reject: (e: unknown) => void };
type Outcome<R> = { committed: Committed<R> } | { error: unknown };

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

export function createGroupCommitter<I, R>(commit: (items: I[]) => Promise<Committed<R>>, options: GroupCommitOptions): GroupCommitter<I, R> {
  let queue: Unit<I, R>[] = [];
  let running: Promise<void> | null = null;

  function takeBatch(): Unit<I, R>[] {
    let size = 0;
    let n = 0;
    // A unit is never split; an oversized unit goes alone.
    while (n < queue.length && (n === 0 || size + queue[n]!.items.length <= options.maxBatch)) size += queue[n++]!.items.length;
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  }

  const start = (batch: Unit<I, R>[]): Promise<Outcome<R>> => {
    const items = batch.flatMap((u) => u.items);
    const started = performance.now();
    return commit(items)
      .then(
        (committed) => ({ committed }),
        (error: unknown) => (options.retryApart?.(error) && (batch.length > 1 || batch[0]!.items.length > 1) ? apart(batch) : { error }),
      )
      .finally(() => options.observe?.(items.length, (performance.now() - started) / 1000));
  };

  /** The batch again, one unit at a time, each committed on its own: results in order, every `after` run in turn. */
  async function apart(batch: Unit<I, R>[]): Promise<Outcome<R>> {
    const parts: Committed<R>[] = [];
    for (const u of batch) parts.push(await isolate(u.items));
    return {
      committed: {
        results: parts.flatMap((p) => p.results),
        after: async () => {
          for (const p of parts) await p.after?.();
        },
      },
    };
  }

  /** Commit items; where that fails for an item's sake, commit each half apart, down to the single item at fault. */
  async function isolate(items: I[]): Promise<Committed<R>> {
    try {
      return await commit(items);
    } catch (error) {
      if (items.length === 1 || !options.retryApart!(error)) return { results: items.map(() => asError(error)) };
      const half = Math.ceil(items.length / 2);
      const [first, second] = [await isolate(items.slice(0, half)), await isolate(items.slice(half))];
      return {
        results: [...first.results, ...second.results],
        after: async () => {
          await first.after?.();
          await second.after?.();
        },
      };
    }
  }

  async function settle(batch: Unit<I, R>[], outcome: Outcome<R>): Promise<void> {
    if ('error' in outcome) {
      for (const u of batch) u.reject(outcome.error);
      return;
    }
    const { results, after } = outcome.committed;
    try {
      await after?.();
    } catch (error) {
      // Committed, but what had to happen first did not: the callers hear it failed, and later batches still run.
      for (const u of batch) u.reject(error);
      return;
    }
    let offset = 0;
    for (const u of batch) {
      u.resolve(results.slice(offset, offset + u.items.length));
      offset += u.items.length;
    }
  }

  async function run(): Promise<void> {
    let batch: Unit<I, R>[] | null = takeBatch();
    let outcome = start(batch);
    while (batch) {
      const done = await outcome;
      if ('error' in done && options.failWaiting?.(done.error)) {
        for (const u of queue) u.reject(done.error);
        queue = [];
      }
      let next = queue.length ? takeBatch() : null;
      // The next batch goes out before this one's callers are answered: answering is many small
      // writes, and the database can work on the next batch meanwhile.
      if (next) outcome = start(next);
      await settle(batch, done);
      // What arrived while settling (`after` waits on Redis) has no other run to take it.
      if (!next && queue.length) outcome = start((next = takeBatch()));
      batch = next;
    }
    running = null;
    options.idle?.();
  }

  return {
    submit(items) {
      if (!items.length) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        queue.push({ items, resolve, reject });
        // A run serves whoever submits while it lasts, not only the request that started it.
        running ??= outsideRequests(run);
      });
    },
    async drain() {
      while (running) await running;
    },
  };
}
