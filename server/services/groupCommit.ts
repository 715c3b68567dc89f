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

type Unit<I, R> = { items: I[]; resolve: (r: Array<R | Error>) => void; reject: (e: unknown) => void };

export function createGroupCommitter<I, R>(
  commit: (items: I[]) => Promise<Array<R | Error>>,
  maxBatch: number,
): GroupCommitter<I, R> {
  let queue: Unit<I, R>[] = [];
  let running: Promise<void> | null = null;

  function takeBatch(): Unit<I, R>[] {
    let size = 0;
    let n = 0;
    // A unit is never split; an oversized unit goes alone.
    while (n < queue.length && (n === 0 || size + queue[n]!.items.length <= maxBatch)) size += queue[n++]!.items.length;
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  }

  async function run(): Promise<void> {
    while (queue.length) {
      const batch = takeBatch();
      try {
        const results = await commit(batch.flatMap((u) => u.items));
        let offset = 0;
        for (const u of batch) {
          u.resolve(results.slice(offset, offset + u.items.length));
          offset += u.items.length;
        }
      } catch (err) {
        for (const u of batch) u.reject(err);
      }
    }
    running = null;
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
