import type { LegacyRecord, LegacyRecordInput } from '../../shared/schemas.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import type { Knex } from '../db/knex.js';
import { findLatestRecord, pageRecords } from '../repositories/records.js';
import { reaches, type Scope } from '../auth/actor.js';
import { ForbiddenError } from '../policies/index.js';
import type { Authority, Ledger } from './ledger/index.js';

const PAGE_SIZE = 1000;

export type RecordService = ReturnType<typeof createRecordService>;

/** The older Attendance API's daily records: one per employee per date. */
export function createRecordService(deps: { db: Knex; cache: Cache; ledger: Ledger }) {
  const { db, cache, ledger } = deps;
  return {
    /** Creates the employee if new and upserts the day's record, through the ledger like every write that takes a seq. */
    async create(input: LegacyRecordInput, by: Authority): Promise<LegacyRecord> {
      const [result] = await ledger.submit([{ record: input, ...by }]);
      if (result instanceof Error) throw result;
      return (result as { record: LegacyRecord }).record;
    },
    /** The record of the employee's latest date, if the employee is in reach. */
    async latest(employeeId: string, scope: Scope): Promise<LegacyRecord | undefined> {
      const found = await cache.getOrLoad(cacheKeys.latestRecord(employeeId), () => findLatestRecord(db, employeeId));
      if (found && !reaches({ sites: scope }, found.siteId)) throw new ForbiddenError(`not allowed to read records of employee ${employeeId}`);
      return found?.record;
    },
    /**
     * Every record in reach ordered by employee then date, a page at a time: memory stays flat however many
     * there are, and no statement outlives the database timeouts however long the whole read takes.
     */
    async *all(scope: Scope): AsyncGenerator<LegacyRecord> {
      for (let after: LegacyRecord | null = null; ; ) {
        const page = await pageRecords(db, after, PAGE_SIZE, scope);
        yield* page;
        if (page.length < PAGE_SIZE) return;
        after = page.at(-1)!;
      }
    },
  };
}
