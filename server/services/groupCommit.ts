/**
 * Group commit: items submitted while a batch is committing wait and go together in the next batch,
 * so one transaction (one fsync, one hold of the seq lock) carries many writes. There is never more
 * than one batch in flight per committer. Each item settles only after its batch has committed.
 */
export type GroupCommitter<I, R> = {
  submit(item: I): Promise<R>;
  /** Resolves when everything submitted so far has settled. */
  drain(): Promise<void>;
};

type Pending<I, R> = { item: I; resolve: (r: R) => void; reject: (e: unknown) => void };

export function createGroupCommitter<I, R>(
  commit: (items: I[]) => Promise<Array<R | Error>>,
  maxBatch: number,
): GroupCommitter<I, R> {
  let queue: Pending<I, R>[] = [];
  let running: Promise<void> | null = null;

  async function run(): Promise<void> {
    while (queue.length) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const results = await commit(batch.map((p) => p.item));
        batch.forEach((p, i) => {
          const r = results[i]!;
          if (r instanceof Error) p.reject(r);
          else p.resolve(r);
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    running = null;
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        running ??= run();
      });
    },
    async drain() {
      while (running) await running;
    },
  };
}
