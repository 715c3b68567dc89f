import type { LegacyRecord, LegacyRecordInput } from '../../shared/schemas.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import type { Knex } from '../db/knex.js';
import { findLatestRecord, pageRecords } from '../repositories/records.js';
import type { Ledger } from './ledger/index.js';

const PAGE_SIZE = 1000;

export type RecordService = ReturnType<typeof createRecordService>;

/** The older Attendance API's daily records: one per employee per date. */
export function createRecordService(deps: { db: Knex; cache: Cache; ledger: Ledger }) {
  const { db, cache, ledger } = deps;
  return {
    /** Creates the employee if new and upserts the day's record, through the ledger like every write that takes a seq. */
    async create(input: LegacyRecordInput): Promise<LegacyRecord> {
      const [result] = await ledger.submit([{ record: input }]);
      if (result instanceof Error) throw result;
      return (result as { record: LegacyRecord }).record;
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
