import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { HubEvent } from '../server/repositories/events.js';
import { createEventStream } from '../server/realtime/stream.js';

const ev = (seq: number): HubEvent => ({ seq, kind: 'checkin.recorded', siteId: 'S', employeeId: 'E', data: { seq } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

describe('event stream (per node, gap-free)', () => {
  const logger = pino({ level: 'silent' });

  it('delivers in seq order, each once, whatever order events arrive in', async () => {
    const db = log(0);
    const runs: number[][] = [];
    const stream = createEventStream({ ...db, deliver: (run) => runs.push(run.map((e) => e.seq)), logger, gapMs: 1000, pollMs: 10_000 });
    await stream.start();
    db.state.committed = 6;
    stream.offer([ev(3), ev(1)]);
    stream.offer([ev(2), ev(2), ev(1)]);
    stream.offer([ev(6), ev(5), ev(4), ev(3)]);
    assert.deepEqual(runs, [[1], [2, 3], [4, 5, 6]], 'each offer hands over what became contiguous, as one run');
    assert.equal(stream.delivered, 6);
    assert.equal(db.state.reads, 0, 'no hole, no database read');
    await stream.stop();
  });

  it('fills a hole that stays open from the database', async () => {
    const db = log(0);
    const got: number[] = [];
    const stream = createEventStream({ ...db, deliver: (run) => got.push(...run.map((e) => e.seq)), logger, gapMs: 20, pollMs: 10_000 });
    await stream.start();
    db.state.committed = 5;
    // Seqs 2 and 3 were committed by a node that died before publishing them.
    stream.offer([ev(1), ev(4), ev(5)]);
    assert.deepEqual(got, [1]);
    await sleep(80);
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    await stream.stop();
  });

  it('does not read events from the database that are announced before the next poll', async () => {
    const db = log(10);
    const got: number[] = [];
    const stream = createEventStream({ ...db, deliver: (run) => got.push(...run.map((e) => e.seq)), logger, gapMs: 1000, pollMs: 50 });
    await stream.start();
    db.state.committed = 11;
    await sleep(60); // one poll has seen head 11 while seq 11 was still being announced
    stream.offer([ev(11)]);
    await sleep(60);
    assert.deepEqual(got, [11]);
    assert.equal(db.state.reads, 0);
    await stream.stop();
  });

  it('catches events nobody announced by polling the committed head', async () => {
    const db = log(10);
    const got: number[] = [];
    const stream = createEventStream({ ...db, deliver: (run) => got.push(...run.map((e) => e.seq)), logger, gapMs: 20, pollMs: 20 });
    await stream.start();
    assert.equal(stream.delivered, 10, 'starts at the head');
    db.state.committed = 2513;
    await sleep(200);
    assert.equal(got.length, 2503);
    assert.deepEqual(got.slice(0, 2), [11, 12]);
    assert.equal(got.at(-1), 2513);
    await stream.stop();
  });
});
