import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { HubEvent } from '../server/events/event.js';
import { createEventStream, type Timers } from '../server/events/stream.js';

const ev = (seq: number): HubEvent => ({ seq, name: 'presence.changed', siteId: 'S', employeeId: 'E', payload: { siteId: 'S', employeeId: 'E', present: true, since: null } });

/** A stand-in for the events table: the committed log the stream may read. */
function log(committed: number) {
  const state = { committed, reads: 0 };
  return {
    state,
    readAfter: async (after: number, limit: number) => {
      state.reads++;
      const out: HubEvent[] = [];
      for (let s = after + 1; s <= state.committed && out.length < limit; s++) out.push(ev(s));
      return out;
    },
    readHead: async () => state.committed,
  };
}

/** Timers that fire only when the test moves time on; then the work they started is let finish. */
function manualClock() {
  let now = 0;
  let next = 0;
  const tasks = new Map<number, { at: number; fn: () => void; every?: number }>();
  const timers: Timers = {
    setTimeout: (fn, ms) => (tasks.set(++next, { at: now + ms, fn }), next),
    clearTimeout: (id) => void tasks.delete(id as number),
    setInterval: (fn, ms) => (tasks.set(++next, { at: now + ms, fn, every: ms }), next),
    clearInterval: (id) => void tasks.delete(id as number),
  };
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    timers,
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...tasks].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        const [id, task] = due;
        now = task.at;
        if (task.every) task.at += task.every;
        else tasks.delete(id);
        task.fn();
        await settle();
      }
      now = until;
      await settle();
    },
  };
}

describe('event stream (per node, gap-free)', () => {
  const logger = pino({ level: 'silent' });
  const GAP = 50;
  const POLL = 500;

  function stream(db: ReturnType<typeof log>) {
    const clock = manualClock();
    const runs: number[][] = [];
    const s = createEventStream({ ...db, logger, gapMs: GAP, pollMs: POLL, timers: clock.timers });
    s.subscribe((run) => runs.push(run.map((e) => e.seq)));
    return { s, clock, runs, got: () => runs.flat() };
  }

  it('delivers in seq order, each once, to every listener, whatever order events arrive in', async () => {
    const db = log(0);
    const { s, runs } = stream(db);
    const second: number[] = [];
    s.subscribe((run) => second.push(...run.map((e) => e.seq)));
    await s.start();
    db.state.committed = 6;
    s.offer([ev(3), ev(1)]);
    s.offer([ev(2), ev(2), ev(1)]);
    s.offer([ev(6), ev(5), ev(4), ev(3)]);
    assert.deepEqual(runs, [[1], [2, 3], [4, 5, 6]], 'each offer hands over what became contiguous, as one run');
    assert.deepEqual(second, [1, 2, 3, 4, 5, 6]);
    assert.equal(s.delivered, 6);
    assert.equal(db.state.reads, 0, 'no hole, no database read');
    await s.stop();
  });

  it('fills a hole that stays open for the gap time from the database, and not before', async () => {
    const db = log(0);
    const { s, clock, got } = stream(db);
    await s.start();
    db.state.committed = 5;
    // Seqs 2 and 3 were committed by a node that died before publishing them.
    s.offer([ev(1), ev(4), ev(5)]);
    await clock.advance(GAP - 1);
    assert.deepEqual(got(), [1]);
    assert.equal(db.state.reads, 0);
    await clock.advance(1);
    assert.deepEqual(got(), [1, 2, 3, 4, 5]);
    await s.stop();
  });

  it('does not read events from the database that are announced before the next poll', async () => {
    const db = log(10);
    const { s, clock, got } = stream(db);
    await s.start();
    db.state.committed = 11;
    await clock.advance(POLL); // one poll has seen head 11 while seq 11 was still being announced
    s.offer([ev(11)]);
    await clock.advance(POLL);
    assert.deepEqual(got(), [11]);
    assert.equal(db.state.reads, 0);
    await s.stop();
  });

  it('catches events nobody announced: what a poll saw committed and is still missing at the next is read', async () => {
    const db = log(10);
    const { s, clock, got } = stream(db);
    await s.start();
    assert.equal(s.delivered, 10, 'starts at the head');
    db.state.committed = 2513;
    await clock.advance(POLL);
    assert.deepEqual(got(), [], 'announcements may still be on their way');
    await clock.advance(POLL);
    assert.equal(got().length, 2503);
    assert.deepEqual(got().slice(0, 2), [11, 12]);
    assert.equal(got().at(-1), 2513);
    assert.equal(db.state.reads, 3, 'in pages of 1,000');
    await s.stop();
  });
});
