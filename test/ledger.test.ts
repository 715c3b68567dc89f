import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Checkin } from '../shared/schemas.js';
import { AppError } from '../server/errors.js';
import { present } from '../server/events/event.js';
import { createLedgerStore, type GroupState, type LedgerStore } from '../server/repositories/ledger.js';
import { commitGroup } from '../server/services/ledger/commit.js';
import type { GroupItem, ItemResult, Punch } from '../server/services/ledger/judge.js';
import { createKnownState, type KnownState } from '../server/services/ledger/known.js';
import { createFeedService } from '../server/services/feed.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';

const SHIFT = 16 * 3600_000;
/** An admin's authority: every site; the audit log's who. */
const ADMIN = { scope: 'all' as const, who: { actorKind: 'token' as const, actorId: 'test', actorRole: 'admin' as const, ip: null, requestId: null } };

/** A commit group driven directly: which path each group took, and what each punch got. */
describe('the ledger: commit groups against PostgreSQL', () => {
  let tdb: TestDatabase;
  let store: LedgerStore;
  let known: KnownState;
  let paths: string[];
  let reads: GroupState[];

  /** The store, noting the path each group took and the state each read found. */
  const spied = (): LedgerStore => ({
    ...store,
    run: async (read, decide) => {
      paths.push('read');
      const done = await store.run(read, decide);
      reads.push(done.state);
      return done;
    },
    runIfUnchanged: async (assumed, write) => {
      const at = await store.runIfUnchanged(assumed, write);
      paths.push(at ? 'from memory' : 'from memory, changed');
      return at;
    },
  });
  const punch = (employeeId: string, type: Punch['type'] = 'toggle', more: Partial<Punch> = {}): Punch => ({
    ...ADMIN,
    needsPin: false,
    eventId: randomUUID(),
    employeeId,
    deviceId: null,
    type,
    occurredAt: new Date().toISOString(),
    ...more,
  });
  const commit = async (...punches: Punch[]) => (await commitGroup(spied(), punches.map((p) => ({ punch: p })), SHIFT, known)).results;
  const checkin = (r: ItemResult | Error | undefined): Checkin => {
    if (!r || r instanceof Error || !('checkin' in r)) throw r ?? new Error('no check-in');
    return r.checkin;
  };
  const code = (r: ItemResult | Error | undefined) => (r instanceof AppError ? r.code : 'ok');

  before(async () => {
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    await makeSite(tdb.db, { id: 'S2' });
    for (const id of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J']) await makeEmployee(tdb.db, { id, siteId: 'S1' });
    store = createLedgerStore(tdb.db);
  });
  beforeEach(() => {
    known = createKnownState();
    paths = [];
    reads = [];
  });
  after(async () => {
    store?.release();
    await tdb?.drop();
  });

  it('a group is judged as one: a refused punch does not fail its neighbours', async () => {
    const later = new Date(Date.now() + 1000).toISOString();
    const results = await commit(punch('G', 'in'), punch('nobody', 'in'), punch('H', 'in'), punch('G', 'in', { occurredAt: later }));
    assert.deepEqual(results.map(code), ['ok', 'unknown_employee', 'ok', 'already_checked_in']);
    assert.deepEqual((await tdb.db('checkins').whereIn('employee_id', ['G', 'H']).orderBy('seq').pluck('employee_id')) as string[], ['G', 'H']);
  });

  it('reads the neighbours of each punch, not every stored punch between two far-apart ones', async () => {
    const october = Array.from({ length: 20 }, (_, d) => `2026-10-${String(d + 1).padStart(2, '0')}`);
    await storeCheckins(
      tdb.db,
      october.flatMap((day) => [
        { employeeId: 'A', siteId: 'S1', type: 'in' as const, occurredAt: `${day}T08:00:00Z` },
        { employeeId: 'A', siteId: 'S1', type: 'out' as const, occurredAt: `${day}T16:00:00Z` },
      ]),
    );
    const results = await commit(
      punch('A', 'in', { occurredAt: '1990-01-02T08:00:00.000Z' }),
      punch('A', 'out', { occurredAt: '1990-01-02T16:00:00.000Z' }),
      punch('A', 'in', { occurredAt: '2026-11-20T08:00:00.000Z' }),
    );
    assert.deepEqual(results.map((r) => checkin(r).type), ['in', 'out', 'in']);
    // The first stored punch (after 1990) and the last (before November), of forty.
    assert.deepEqual(reads[0]!.timelines.get('A')!.map((c) => c.occurredAt), ['2026-10-01T08:00:00.000Z', '2026-10-20T16:00:00.000Z']);
  });

  it('after a read, the next live punches go in one round trip and are stored exactly as the read path stores them', async () => {
    const [first] = await commit(punch('B'));
    const [second, cIn] = await commit(punch('B'), punch('C', 'in', { siteId: 'S2', deviceId: 'kiosk-1' }));
    assert.deepEqual(paths, ['read', 'read'], 'B, then C, were unknown');
    paths = [];
    const [third, cOut] = await commit(punch('B'), punch('C'));
    assert.deepEqual(paths, ['from memory']);
    assert.deepEqual([first, second, third].map((r) => checkin(r).type), ['in', 'out', 'in']);
    assert.equal(checkin(cIn).siteId, 'S2');
    assert.equal(checkin(cOut).type, 'out');
    assert.equal(checkin(cOut).siteId, 'S2', 'a check-out closes the session where it opened, known without a read');

    // What the callers were told is what was stored: seqs from the head, recordedAt from PostgreSQL's clock.
    for (const c of [checkin(third), checkin(cOut)]) {
      const row = await tdb.db('checkins').where({ seq: c.seq }).first();
      assert.equal(row.event_id, c.eventId);
      assert.equal(new Date(row.recorded_at).toISOString(), c.recordedAt);
    }
    const seqs = (await tdb.db('events').orderBy('seq').pluck('seq')) as number[];
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seqs gapless');
    assert.equal(Number((await tdb.db('event_seq').first('value')).value), seqs.length);
  });

  it('a replayed event is byte-identical to the live one, whichever path wrote it', async () => {
    const live: string[] = [];
    const spy: LedgerStore = spied();
    // Each group made when it is sent: a live punch comes after the employee's latest.
    for (const group of [() => [punch('I', 'in')], () => [punch('I', 'out')], () => [punch('I', 'in'), punch('J', 'in', { deviceId: 'door "3"' })]]) {
      const { write } = await commitGroup(spy, group().map((p) => ({ punch: p })), SHIFT, known);
      live.push(...write.events.map((e) => JSON.stringify(present(e))));
    }
    const { write } = await commitGroup(spy, [{ record: { id: 'I', name: 'Ida', status: 'present', date: '2026-11-20' }, ...ADMIN }], SHIFT, known);
    live.push(...write.events.map((e) => JSON.stringify(present(e))));
    assert.ok(paths.includes('from memory') && paths.includes('read'), `both paths wrote: ${paths}`);

    const first = JSON.parse(live[0]!).seq as number;
    const replayed = (await createFeedService({ db: tdb.db }).after(first - 1, 100)).map((e) => JSON.stringify(e));
    assert.deepEqual(replayed, live);
  });

  it("another writer's check-in since: nothing is written on the first try, and the read path judges afresh", async () => {
    await commit(punch('F', 'in'));
    await storeCheckins(tdb.db, [{ employeeId: 'F', siteId: 'S1', type: 'out', occurredAt: new Date().toISOString() }]);
    const before = Number((await tdb.db('checkins').where({ employee_id: 'F' }).count({ n: '*' }).first())!.n);
    paths = [];
    const [r] = await commit(punch('F'));
    assert.deepEqual(paths, ['from memory, changed', 'read']);
    assert.equal(checkin(r).type, 'in', 'toggled from the stored out, not from the known in');
    assert.equal(Number((await tdb.db('checkins').where({ employee_id: 'F' }).count({ n: '*' }).first())!.n), before + 1);
  });

  it('an employee deactivated or moved since, a site closed since, or a site never seen: the read path answers', async () => {
    await commit(punch('D', 'in'), punch('E', 'in'));
    await commit(punch('D', 'out'), punch('E', 'out'));
    await tdb.db('employees').where({ id: 'D' }).update({ active: false });
    paths = [];
    assert.equal(code((await commit(punch('D')))[0]), 'employee_inactive');
    assert.deepEqual(paths, ['from memory, changed', 'read']);

    await tdb.db('employees').where({ id: 'E' }).update({ site_id: 'S2' });
    paths = [];
    const [moved] = await commit(punch('E', 'in'));
    assert.deepEqual(paths, ['from memory, changed', 'read']);
    assert.equal(checkin(moved).siteId, 'S2');

    await tdb.db('sites').where({ id: 'S2' }).update({ active: false });
    paths = [];
    const [closing] = await commit(punch('E', 'out'));
    assert.equal(checkin(closing).type, 'out', 'a session opened at a site closed since can still close');
    assert.equal(code((await commit(punch('E', 'in')))[0]), 'site_inactive');
    assert.deepEqual(paths, ['from memory, changed', 'read', 'from memory']);
    await tdb.db('sites').where({ id: 'S2' }).update({ active: true });

    // A site this node has never read is never assumed: the read path finds it does not exist.
    paths = [];
    assert.equal(code((await commit(punch('E', 'in', { siteId: 'S-none' })))[0]), 'unknown_site');
    assert.deepEqual(paths, ['read']);
  });

  it('a retry with a stored eventId and a new time gets the stored check-in, not a 409', async () => {
    const first = punch('F', 'toggle');
    const [stored] = await commit(first);
    paths = [];
    const [again] = await commit({ ...first, occurredAt: new Date(Date.now() + 1000).toISOString() });
    assert.deepEqual(paths, ['from memory, changed', 'read'], 'the eventId is taken: nothing is written, and the read finds it');
    assert.ok(again && !(again instanceof Error) && 'checkin' in again);
    assert.equal(again.created, false);
    assert.deepEqual(again.checkin, checkin(stored));
  });

  it('what is not a group of live punches goes the read path: out of order, twice in a group, unknown employees, records', async () => {
    await commit(punch('A'));
    paths = [];
    await commit(punch('A', 'toggle', { occurredAt: new Date(Date.now() - 3600_000).toISOString() }));
    await commit(punch('B'), punch('B'));
    await commit(punch('nobody'));
    const items: GroupItem[] = [{ punch: punch('A') }, { record: { id: 'A', name: 'Ann', status: 'present', date: '2026-11-21' }, ...ADMIN }];
    await commitGroup(spied(), items, SHIFT, known);
    assert.deepEqual(paths, ['read', 'read', 'read', 'read']);
  });

  it('forgets an employee when a newer check-in of theirs is committed elsewhere', async () => {
    const [mine] = await commit(punch('H'));
    const c = checkin(mine);
    const event = (seq: number, name: 'checkin.recorded' | 'presence.changed') =>
      present({ seq, name, siteId: 'S1', employeeId: 'H', payload: name === 'checkin.recorded' ? c : { siteId: 'S1', employeeId: 'H', present: true, since: c.occurredAt } });
    const fromMemory = () => known.group([punch('H')], SHIFT, Date.now()) !== null;
    known.observe([event(c.seq, 'checkin.recorded')]);
    assert.ok(fromMemory(), 'its own check-in, seen again on the stream');
    known.observe([event(c.seq + 1, 'presence.changed')]);
    assert.ok(fromMemory());
    known.observe([event(c.seq + 2, 'checkin.recorded')]);
    assert.equal(fromMemory(), false);
  });
});
