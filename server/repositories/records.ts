import type { LegacyRecord } from '../../shared/schemas.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'records';

/** The record of the employee's latest date. */
export async function findLatestRecord(db: Knex, employeeId: string): Promise<LegacyRecord | undefined> {
  return db(TABLE)
    .where({ employee_id: employeeId })
    .orderBy('date', 'desc')
    .first('employee_id as id', 'name', 'status', 'date');
}

/** A page of records in (employee, date) order, after the given one: each read is one short statement. */
export async function pageRecords(db: Knex, after: { id: string; date: string } | null, limit: number): Promise<LegacyRecord[]> {
  const query = db(TABLE).select('employee_id as id', 'name', 'status', 'date').orderBy(['employee_id', 'date']).limit(limit);
  if (after) query.whereRaw('(employee_id, date) > (?, ?::date)', [after.id, after.date]);
  return query;
}
