import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Checkin } from '../shared/schemas.js';
import { AppError } from '../server/errors.js';
import { createCheckinLedger, type CheckinLedger } from '../server/repositories/checkinBatch.js';
import { commitPunches, type Punch, type PunchResult } from '../server/services/checkinCommit.js';
import { createLatestPunches, type LatestPunches } from '../server/services/latestPunches.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';

const SHIFT = 16 * 3600_000;

describe('check-ins judged from the latest punches this node knows (one round trip)', () => {
  let tdb: TestDatabase;
  let ledger: CheckinLedger;
  let latest: LatestPunches;
  let paths: string[];

  /** The ledger, noting which path each group took. */
  const spied = (): CheckinLedger => ({
    ...ledger,
    run: (read, decide) => {
      paths.push('read');
      return ledger.run(read, decide);
    },
    runVerified: async (expected, write) => {
      const at = await ledger.runVerified(expected, write);
      paths.push(at ? 'verified' : 'verified, changed');
      return at;
    },
  });
  const punch = (employeeId: string, type: Punch['type'] = 'toggle', more: Partial<Punch> = {}): Punch => ({
    eventId: randomUUID(),
    employeeId,
    deviceId: null,
    type,
    occurredAt: new Date().toISOString(),
    ...more,
  });
  const commit = async (...punches: Punch[]) => (await commitPunches(spied(), punches, SHIFT, latest)).results;
  const checkin = (r: PunchResult | Error | undefined): Checkin => {
    if (!r || r instanceof Error) throw r ?? new Error('no result');
    return r.checkin;
  };
  const code = (r: PunchResult | Error | undefined) => (r instanceof AppError ? r.code : 'ok');

  before(async () => {
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    await makeSite(tdb.db, { id: 'S2' });
    for (const id of ['A', 'B', 'C', 'D', 'E', 'F']) await makeEmployee(tdb.db, { id, siteId: 'S1' });
    ledger = createCheckinLedger(tdb.db);
  });
  beforeEach(() => {
    latest = createLatestPunches();
    paths = [];
  });
  after(async () => {
    ledger?.release();
    await tdb?.drop();
  });

  it('after a read, the next live punches go in one round trip and are stored exactly as the read path stores them', async () => {
    const [first] = await commit(punch('A'));
    const [second, bIn] = await commit(punch('A'), punch('B', 'in', { siteId: 'S2', deviceId: 'kiosk-1' }));
    assert.deepEqual(paths, ['read', 'read'], 'A, then B, were unknown');
    paths = [];
    const [third, bOut] = await commit(punch('A'), punch('B'));
    assert.deepEqual(paths, ['verified']);
    assert.deepEqual([first, second, third].map((r) => checkin(r).type), ['in', 'out', 'in']);
    assert.equal(checkin(bIn).siteId, 'S2');
    assert.equal(checkin(bOut).type, 'out');
    assert.equal(checkin(bOut).siteId, 'S2', 'a check-out closes the session where it opened, known without a read');

    // What the callers were told is what was stored: seqs from the head, recordedAt from PostgreSQL's clock.
    for (const c of [checkin(third), checkin(bOut)]) {
      const row = await tdb.db('checkins').where({ seq: c.seq }).first();
      assert.equal(row.event_id, c.eventId);
      assert.equal(new Date(row.recorded_at).toISOString(), c.recordedAt);
      const event = await tdb.db('events').where({ seq: c.seq }).first();
      assert.deepEqual(event.data, c);
    }
    const events = await tdb.db('events').orderBy('seq').select('seq', 'kind', 'data');
    assert.deepEqual(events.map((e) => Number(e.seq)), events.map((_, i) => i + 1), 'seqs gapless');
    for (const e of events.filter((e) => e.kind === 'presence.changed')) assert.equal(e.data.seq, Number(e.seq));
    const head = await tdb.db('event_seq').first('value');
    assert.equal(Number(head.value), events.length);
  });

  it("another writer's check-in since: nothing is written on the first try, and the read path judges afresh", async () => {
    await commit(punch('C', 'in'));
    // Another node (or anything else) closes C's session.
    await storeCheckins(tdb.db, [{ employeeId: 'C', siteId: 'S1', type: 'out', occurredAt: new Date().toISOString() }]);
    const before = await tdb.db('checkins').where({ employee_id: 'C' }).count({ n: '*' }).first();
    paths = [];
    const [r] = await commit(punch('C'));
    assert.deepEqual(paths, ['verified, changed', 'read']);
    assert.equal(checkin(r).type, 'in', 'toggled from the stored out, not from the known in');
    const after = await tdb.db('checkins').where({ employee_id: 'C' }).count({ n: '*' }).first();
    assert.equal(Number(after!.n), Number(before!.n) + 1);
  });

  it('an employee deactivated or moved since, or a site that does not exist: the read path answers', async () => {
    await commit(punch('D', 'in'), punch('E', 'in'));
    await commit(punch('D', 'out'), punch('E', 'out'));
    await tdb.db('employees').where({ id: 'D' }).update({ active: false });
    paths = [];
    assert.equal(code((await commit(punch('D')))[0]), 'employee_inactive');
    assert.deepEqual(paths, ['verified, changed', 'read']);

    await tdb.db('employees').where({ id: 'E' }).update({ site_id: 'S2' });
    paths = [];
    const [moved] = await commit(punch('E', 'in'));
    assert.deepEqual(paths, ['verified, changed', 'read']);
    assert.equal(checkin(moved).siteId, 'S2');

    // E is in: judged from memory this `in` would be a 409, but the site is checked first (and does not exist).
    paths = [];
    assert.equal(code((await commit(punch('E', 'in', { siteId: 'S-none' })))[0]), 'unknown_site');
    assert.deepEqual(paths, ['verified, changed', 'read']);
  });

  it('a retry with a stored eventId and a new time gets the stored check-in, not a 409', async () => {
    const first = punch('F', 'in');
    const [stored] = await commit(first);
    paths = [];
    const [again] = await commit({ ...first, occurredAt: new Date(Date.now() + 1000).toISOString() });
    assert.deepEqual(paths, ['verified, changed', 'read']);
    assert.ok(!(again instanceof Error));
    assert.equal(again!.created, false);
    assert.deepEqual(again!.checkin, checkin(stored));
  });

  it('punches that are not live go the read path: out of order, twice in a group, or unknown employees', async () => {
    await commit(punch('A'));
    paths = [];
    await commit(punch('A', 'toggle', { occurredAt: new Date(Date.now() - 3600_000).toISOString() }));
    await commit(punch('B'), punch('B'));
    await commit(punch('nobody'));
    assert.deepEqual(paths, ['read', 'read', 'read']);
  });

  it('forgets an employee when a newer check-in is committed elsewhere, and the least recently used past its size', () => {
    const small = createLatestPunches(2);
    const c = (employeeId: string, seq: number): Checkin => ({
      seq,
      eventId: randomUUID(),
      employeeId,
      siteId: null,
      deviceId: null,
      type: 'in',
      occurredAt: new Date(Date.now() - 1000).toISOString(),
      recordedAt: new Date().toISOString(),
    });
    const known = (id: string) => small.knownGroup([punch(id)], SHIFT, Date.now()) !== null;
    small.remember('X', { siteId: null, active: true }, c('X', 10));
    small.observe([{ seq: 10, kind: 'checkin.recorded', siteId: null, employeeId: 'X', data: c('X', 10) }]);
    assert.ok(known('X'), 'its own check-in, seen again on the stream');
    small.observe([{ seq: 11, kind: 'presence.changed', siteId: null, employeeId: 'X', data: {} }]);
    assert.ok(known('X'));
    small.observe([{ seq: 12, kind: 'checkin.recorded', siteId: null, employeeId: 'X', data: c('X', 12) }]);
    assert.equal(known('X'), false);

    small.remember('P', { siteId: null, active: true }, null);
    small.remember('Q', { siteId: null, active: true }, null);
    small.remember('R', { siteId: null, active: true }, null);
    assert.equal(small.size, 2);
    assert.deepEqual(['P', 'Q', 'R'].map(known), [false, true, true]);
  });
});
