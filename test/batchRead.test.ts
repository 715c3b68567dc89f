import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createCheckinLedger, type BatchState, type CheckinLedger } from '../server/repositories/checkinBatch.js';
import { commitPunches, type Punch } from '../server/services/checkinCommit.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';

const SHIFT = 16 * 3600_000;

describe('what a group reads to judge its punches', () => {
  let tdb: TestDatabase;
  let ledger: CheckinLedger;

  before(async () => {
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    await makeEmployee(tdb.db, { id: 'A', siteId: 'S1' });
    // Twenty stored shifts in October.
    const october = Array.from({ length: 20 }, (_, d) => `2026-10-${String(d + 1).padStart(2, '0')}`);
    await storeCheckins(
      tdb.db,
      october.flatMap((day) => [
        { employeeId: 'A', siteId: 'S1', type: 'in' as const, occurredAt: `${day}T08:00:00Z` },
        { employeeId: 'A', siteId: 'S1', type: 'out' as const, occurredAt: `${day}T16:00:00Z` },
      ]),
    );
    ledger = createCheckinLedger(tdb.db);
  });
  after(async () => {
    ledger?.release();
    await tdb?.drop();
  });

  it('reads the neighbours of each punch, not every stored punch between two far-apart ones', async () => {
    let read: BatchState | undefined;
    const spied: CheckinLedger = {
      ...ledger,
      run: (r, decide) =>
        ledger.run(r, (state) => {
          read = state;
          return decide(state);
        }),
    };
    const punch = (type: Punch['type'], occurredAt: string): Punch => ({ eventId: randomUUID(), employeeId: 'A', deviceId: null, type, occurredAt });
    const { results } = await commitPunches(
      spied,
      [punch('in', '1990-01-02T08:00:00.000Z'), punch('out', '1990-01-02T16:00:00.000Z'), punch('in', '2026-11-20T08:00:00.000Z')],
      SHIFT,
    );
    assert.deepEqual(results.map((r) => (r instanceof Error ? r.message : r.checkin.type)), ['in', 'out', 'in']);
    // The first stored punch (after 1990) and the last (before November), of forty.
    assert.deepEqual(read!.timelines.get('A')!.map((c) => c.occurredAt), ['2026-10-01T08:00:00.000Z', '2026-10-20T16:00:00.000Z']);
  });
});
