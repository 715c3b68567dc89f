import assert from 'node:assert/strict';
import type { PresenceEntry } from '../shared/schemas.js';
import { keep, SNAPSHOT_REUSE_MS, stillHolds, type SnapshotRead } from '../server/services/presence.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTwoNodes, type TwoNodes } from './support/hub.js';

const HOUR = 3600_000;
const at = (iso: string) => Date.parse(iso);
const entry = (employeeId: string, since: string): PresenceEntry => ({ employeeId, name: employeeId, since, seq: 1 });
const readOf = (present: Record<string, PresenceEntry[]>): SnapshotRead => ({
  seq: 7,
  known: new Set(Object.keys(present)),
  present: new Map(Object.entries(present)),
});

describe('presence snapshots handed out again (pure rules)', () => {
  const read = readOf({ S1: [entry('A', '2026-12-06T08:00:00.000Z')], S2: [] });
  const before = at('2026-12-06T09:00:00.000Z');

  it('holds for the same sites at the same versions, within the reuse window', () => {
    const kept = keep(read, ['S1', 'S2'], ['3', '5'], before, 12 * HOUR);
    assert.equal(stillHolds(kept, ['S1', 'S2'], ['3', '5'], before + SNAPSHOT_REUSE_MS - 1), read);
    assert.equal(stillHolds(kept, ['S2'], ['5'], before), read, 'a subset of the sites it read');
  });

  it('does not hold once a site’s version has moved, for a site it did not read, or past the window', () => {
    const kept = keep(read, ['S1', 'S2'], ['3', '5'], before, 12 * HOUR);
    assert.equal(stillHolds(kept, ['S1', 'S2'], ['4', '5'], before), null);
    assert.equal(stillHolds(kept, ['S1', 'S3'], ['3', '0'], before), null);
    assert.equal(stillHolds(kept, ['S1'], ['3'], before + SNAPSHOT_REUSE_MS), null);
  });

  it('does not hold past the moment someone in it leaves the longest shift’s window', () => {
    // In since 08:00 with a 1 h longest shift: in until 09:00:00.400, not a millisecond after.
    const late = readOf({ S1: [entry('A', '2026-12-06T08:00:00.400Z'), entry('B', '2026-12-06T08:30:00.000Z')] });
    const kept = keep(late, ['S1'], ['3'], before, HOUR);
    assert.equal(kept.until, at('2026-12-06T09:00:00.400Z'));
    assert.equal(stillHolds(kept, ['S1'], ['3'], at('2026-12-06T09:00:00.399Z')), late);
    assert.equal(stillHolds(kept, ['S1'], ['3'], at('2026-12-06T09:00:00.400Z')), null);
  });
});

describe('presence snapshots across two nodes sharing Redis', () => {
  let n: TwoNodes | undefined;
  const reads: string[] = [];
  const countReads = (q: { sql: string }) => {
    if (/distinct on/i.test(q.sql)) reads.push(q.sql);
  };

  before(async function () {
    n = await startTwoNodes(this, 'snapshots', async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeSite(db, { id: 'S2' });
      for (const id of ['E1', 'E2', 'E3']) await makeEmployee(db, { id, siteId: 'S1' });
    });
    n.tdb.db.on('query', countReads);
  });
  after(async () => {
    n?.tdb.db.off('query', countReads);
    await n?.stop();
  });

  const punchIn = async (employeeId: string) => {
    const res = await api(n!.a, 'POST', '/api/v1/checkins', { employeeId, type: 'in', siteId: 'S1' });
    assert.equal(res.status, 201, res.text);
    return res.body.data as { seq: number };
  };
  const names = (s: { presence: Record<string, PresenceEntry[]> }) => s.presence.S1!.map((p) => `${p.employeeId}:${p.name}`).sort();

  it('a second snapshot of unchanged sites reads nothing from PostgreSQL, and is the same', async () => {
    await punchIn('E1');
    const first = await n!.b.services.presence.snapshot(['S1']);
    assert.deepEqual(names(first), ['E1:E1']);
    const readsBefore = reads.length;
    const again = await n!.b.services.presence.snapshot(['S1']);
    assert.equal(reads.length, readsBefore, 'no presence query');
    assert.deepEqual(again, first);
  });

  it('a punch acknowledged on the other node is in the next snapshot', async () => {
    await n!.b.services.presence.snapshot(['S1']);
    const { seq } = await punchIn('E2');
    const next = await n!.b.services.presence.snapshot(['S1']);
    assert.ok(next.seq >= seq, `snapshot as of ${next.seq}, punch ${seq}`);
    assert.deepEqual(names(next), ['E1:E1', 'E2:E2']);
  });

  it('a rename acknowledged on the other node is in the next snapshot (renames commit no event)', async () => {
    const first = await n!.b.services.presence.snapshot(['S1']);
    const res = await api(n!.a, 'PATCH', '/api/v1/employees/E1', { name: 'Eve' });
    assert.equal(res.status, 200, res.text);
    const next = await n!.b.services.presence.snapshot(['S1']);
    assert.equal(next.seq, first.seq);
    assert.deepEqual(names(next), ['E1:Eve', 'E2:E2']);
  });

  it('a site the kept snapshot did not read is read', async () => {
    await n!.b.services.presence.snapshot(['S1']);
    const readsBefore = reads.length;
    const both = await n!.b.services.presence.snapshot(['S1', 'S2']);
    assert.ok(reads.length > readsBefore, 'read PostgreSQL');
    assert.deepEqual(both.presence.S2, []);
    await assert.rejects(n!.b.services.presence.snapshot(['S1', 'nowhere']), /no site with id nowhere/);
  });
});
