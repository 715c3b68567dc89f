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
};

type Unit<I, R> = { items: I[]; resolve: (r: Array<R | Error>) => void; reject: (e: unknown) => void };
type Outcome<R> = { committed: Committed<R> } | { error: unknown };

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

  const start = (batch: Unit<I, R>[]): Promise<Outcome<R>> =>
    commit(batch.flatMap((u) => u.items)).then(
      (committed) => ({ committed }),
      (error: unknown) => ({ error }),
    );

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
        running ??= run();
      });
    },
    async drain() {
      while (running) await running;
    },
  };
}
