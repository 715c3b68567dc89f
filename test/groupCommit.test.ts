import assert from 'node:assert/strict';
import { createGroupCommitter } from '../server/groupCommit.js';

describe('group commit', () => {
  it('groups what arrives while a batch commits, never splits a unit, and commits one batch at a time', async () => {
    const batches: number[][] = [];
    let running = 0;
    let maxRunning = 0;
    const gates: Array<() => void> = [];
    const committer = createGroupCommitter<number, number>(async (items) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      batches.push(items);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return { results: items.map((i) => (i < 0 ? new Error(`bad ${i}`) : i * 10)) };
    }, { maxBatch: 4 });

    const first = committer.submit([1]);
    const rest = [committer.submit([2]), committer.submit([3, 4]), committer.submit([5, 6, 7]), committer.submit([-1])];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [[1]], 'the rest waits while the first batch commits');
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(batches, [[1], [2, 3, 4]], 'then the next batch goes; [5,6,7] does not fit');
    while (gates.length || batches.length < 3) {
      await new Promise((r) => setTimeout(r, 1));
      gates.shift()?.();
    }
    await committer.drain();
    assert.deepEqual(batches, [[1], [2, 3, 4], [5, 6, 7, -1]]);
    assert.equal(maxRunning, 1);
    assert.deepEqual(await first, [10]);
    const settled = await Promise.all(rest);
    assert.deepEqual(settled.slice(0, 3), [[20], [30, 40], [50, 60, 70]]);
    assert.ok(settled[3]![0] instanceof Error);
  });

  it('a failed batch rejects its units and the next batch still runs', async () => {
    let calls = 0;
    const committer = createGroupCommitter<number, number>(async (items) => {
      calls++;
      if (calls === 1) throw new Error('database down');
      return { results: items };
    }, { maxBatch: 10 });
    const a = committer.submit([1]);
    const b = committer.submit([2]);
    await assert.rejects(a, /database down/);
    assert.deepEqual(await b, [2]);
  });

  it('a failing `after` rejects that batch and the committer keeps going', async () => {
    let calls = 0;
    const committer = createGroupCommitter<number, number>(async (items) => {
      calls++;
      const batch = calls;
      return {
        results: items,
        after: async () => {
          if (batch === 1) throw new Error('publish failed');
        },
      };
    }, { maxBatch: 10 });
    await assert.rejects(committer.submit([1]), /publish failed/);
    assert.deepEqual(await committer.submit([2]), [2]);
    await committer.drain();
  });

  it('a unit submitted while the last batch runs `after` is committed without waiting for another submit', async () => {
    let release!: () => void;
    const slowAfter = new Promise<void>((r) => (release = r));
    let batches = 0;
    const committer = createGroupCommitter<number, number>(
      async (items) => {
        batches++;
        return { results: items, after: batches === 1 ? () => slowAfter : undefined };
      },
      { maxBatch: 10 },
    );
    const first = committer.submit([1]);
    // The first batch has committed and is in its `after` when the second unit arrives.
    while (batches < 1) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    const second = committer.submit([2]);
    release();
    assert.deepEqual(await first, [1]);
    const settled = await Promise.race([second, new Promise((r) => setTimeout(() => r('stranded'), 2000))]);
    assert.deepEqual(settled, [2]);
  });

  it('sends the next batch before answering the last one, runs `after` before its callers hear, and calls idle when dry', async () => {
    const log: string[] = [];
    let idle = 0;
    const committer = createGroupCommitter<number, number>(
      async (items) => {
        log.push(`commit ${items}`);
        await new Promise((r) => setTimeout(r, 5));
        return {
          results: items,
          after: async () => {
            log.push(`after ${items} begins`);
            await new Promise((r) => setTimeout(r, 5));
            log.push(`after ${items} ends`);
          },
        };
      },
      { maxBatch: 10, idle: () => idle++ },
    );
    const first = committer.submit([1]).then(() => log.push('answered 1'));
    await new Promise((r) => setImmediate(r));
    const second = committer.submit([2]).then(() => log.push('answered 2'));
    await Promise.all([first, second]);
    await committer.drain();
    assert.deepEqual(log, ['commit 1', 'commit 2', 'after 1 begins', 'after 1 ends', 'answered 1', 'after 2 begins', 'after 2 ends', 'answered 2']);
    assert.equal(idle, 1, 'idle once, when the queue ran dry');
    await committer.submit([3]);
    await committer.drain();
    assert.equal(idle, 2);
  });

  describe('retrying a failed batch apart', () => {
    // A batch fails whole if any item is "poison" (as PostgreSQL refuses a whole statement); "down" fails every batch.
    const poisonous = (commits: number[][], down = () => false) =>
      createGroupCommitter<number, number>(
        async (items) => {
          commits.push(items);
          if (down()) throw Object.assign(new Error('database down'), { down: true });
          if (items.some((i) => i < 0)) throw new Error(`poison in ${items}`);
          return { results: items.map((i) => i * 10) };
        },
        { maxBatch: 100, retryApart: (err) => !(err as { down?: boolean }).down },
      );

    it('a poison item fails alone: the rest of its batch, its own unit included, commit', async () => {
      const commits: number[][] = [];
      const committer = poisonous(commits);
      const gate = committer.submit([0]);
      const units = [committer.submit([1]), committer.submit([2, -3, 4, 5]), committer.submit([6])];
      await gate;
      const [one, mixed, six] = await Promise.all(units);
      assert.deepEqual(one, [10]);
      assert.deepEqual(six, [60]);
      assert.deepEqual(mixed!.slice(0, 1).concat(mixed!.slice(2) as number[]), [20, 40, 50]);
      assert.ok(mixed![1] instanceof Error && /poison in -3/.test(mixed![1].message), 'the poison item gets the error that sank it');
      // The group, then each unit alone, then the failing unit in halves down to the poison item.
      assert.deepEqual(commits, [[0], [1, 2, -3, 4, 5, 6], [1], [2, -3, 4, 5], [2, -3], [2], [-3], [4, 5], [6]]);
    });

    it('runs every part’s `after` before any caller of the batch hears', async () => {
      const log: string[] = [];
      const committer = createGroupCommitter<number, number>(
        async (items) => {
          if (items.length > 1 && items.includes(-1)) throw new Error('poison');
          return { results: items, after: async () => void log.push(`after ${items}`) };
        },
        { maxBatch: 10, retryApart: () => true },
      );
      const gate = committer.submit([0]);
      const both = [committer.submit([1]), committer.submit([-1])].map((p) => p.then(() => log.push('answered')));
      await gate;
      await Promise.all(both);
      assert.deepEqual(log, ['after 0', 'after 1', 'after -1', 'answered', 'answered']);
    });

    it('a database that is away fails the units waiting behind the batch at once, without trying them', async () => {
      const commits: number[][] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const committer = createGroupCommitter<number, number>(
        async (items) => {
          commits.push(items);
          await gate;
          throw Object.assign(new Error('database down'), { down: true });
        },
        { maxBatch: 100, failWaiting: (err) => (err as { down?: boolean }).down === true },
      );
      const units = [committer.submit([1]), committer.submit([2]), committer.submit([3, 4])].map((p) => p.catch((e: Error) => e.message));
      release();
      assert.deepEqual(await Promise.all(units), ['database down', 'database down', 'database down']);
      assert.deepEqual(commits, [[1]], 'only the batch in flight was tried');
    });

    it('a database that is away fails the whole batch at once, with no retries', async () => {
      const commits: number[][] = [];
      const committer = poisonous(commits, () => true);
      const gate = committer.submit([0]).catch((e: Error) => e);
      const units = [committer.submit([1]), committer.submit([2, 3])].map((p) => p.catch((e: Error) => e));
      await gate;
      for (const settled of await Promise.all(units)) assert.match((settled as Error).message, /database down/);
      assert.deepEqual(commits, [[0], [1, 2, 3]]);
    });
  });
});
