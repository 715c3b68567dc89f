/**
 * Group commit: work submitted while a batch is being prepared waits and goes together in the next
 * batch, so one transaction (one WAL flush, one hold of the seq lock) carries many writes. Only one
 * batch prepares at a time; once it sends its writes (`writing()`), the next may begin, and its
 * lock request then waits inside PostgreSQL for that commit rather than behind a client round trip.
 * A unit submitted together always shares one transaction, and settles only after it has committed.
 */
export type GroupCommitter<I, R> = {
  /** Commit items together; resolves with one result (or Error) per item, in order. */
  submit(items: I[]): Promise<Array<R | Error>>;
  /** Resolves when everything submitted so far has settled. */
  drain(): Promise<void>;
};

export type CommitHooks = { writing(): void };

type Unit<I, R> = { items: I[]; resolve: (r: Array<R | Error>) => void; reject: (e: unknown) => void };

export function createGroupCommitter<I, R>(
  commit: (items: I[], hooks: CommitHooks) => Promise<Array<R | Error>>,
  maxBatch: number,
): GroupCommitter<I, R> {
  let queue: Unit<I, R>[] = [];
  let preparing = false;
  const inFlight = new Set<Promise<void>>();

  function takeBatch(): Unit<I, R>[] {
    let size = 0;
    let n = 0;
    // A unit is never split; an oversized unit goes alone.
    while (n < queue.length && (n === 0 || size + queue[n]!.items.length <= maxBatch)) size += queue[n++]!.items.length;
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  }

  function pump(): void {
    if (preparing || !queue.length) return;
    preparing = true;
    const batch = takeBatch();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      preparing = false;
      pump();
    };
    const run = commit(
      batch.flatMap((u) => u.items),
      { writing: release },
    ).then(
      (results) => {
        let offset = 0;
        for (const u of batch) {
          u.resolve(results.slice(offset, offset + u.items.length));
          offset += u.items.length;
        }
      },
      (err) => batch.forEach((u) => u.reject(err)),
    );
    const tracked = run.finally(() => {
      inFlight.delete(tracked);
      release();
    });
    inFlight.add(tracked);
  }

  return {
    submit(items) {
      if (!items.length) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        queue.push({ items, resolve, reject });
        pump();
      });
    },
    async drain() {
      while (inFlight.size || queue.length) await Promise.allSettled([...inFlight]);
    },
  };
}
