import type { LegacyRecord, LegacyRecordInput } from '../../shared/schemas.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { findEmployeeRefs, insertEmployeeIfMissing } from '../repositories/employees.js';
import { advanceHead, insertEvents, lockHead, type HubEvent } from '../repositories/events.js';
import { findLatestRecord, pageRecords, upsertRecord } from '../repositories/records.js';
import type { Publisher } from '../realtime/publisher.js';

const PAGE_SIZE = 1000;

export type RecordService = ReturnType<typeof createRecordService>;

/** The older Attendance API's daily records: one per employee per date. */
export function createRecordService(deps: { db: Knex; cache: Cache; publisher: Publisher }) {
  const { db, cache, publisher } = deps;
  return {
    async create(input: LegacyRecordInput): Promise<LegacyRecord> {
      const { record, event } = await inTransaction(db, async (trx) => {
        const { head } = await lockHead(trx);
        const seq = head + 1;
        await insertEmployeeIfMissing(trx, { id: input.id, name: input.name });
        const record = await upsertRecord(trx, input, seq);
        const employee = (await findEmployeeRefs(trx, [input.id])).get(input.id);
        const event: HubEvent = {
          seq,
          kind: 'record.updated',
          siteId: employee?.siteId ?? null,
          employeeId: input.id,
          data: { ...record, seq },
        };
        await insertEvents(trx, [event]);
        await advanceHead(trx, seq);
        return { record, event };
      });
      await cache.invalidate([cacheKeys.latestRecord(input.id)]);
      publisher.publish([event]);
      return record;
    },
    latest: (employeeId: string) => cache.getOrLoad(cacheKeys.latestRecord(employeeId), () => findLatestRecord(db, employeeId)),
    /**
     * Every record ordered by employee then date, a page at a time: memory stays flat however many
     * there are, and no statement outlives the database timeouts however long the whole read takes.
     */
    async *all(): AsyncGenerator<LegacyRecord> {
      for (let after: LegacyRecord | null = null; ; ) {
        const page = await pageRecords(db, after, PAGE_SIZE);
        yield* page;
        if (page.length < PAGE_SIZE) return;
        after = page.at(-1)!;
      }
    },
  };
}
