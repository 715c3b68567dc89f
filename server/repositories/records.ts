import type { LegacyRecord } from '../../shared/schemas.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { TABLE as EMPLOYEES } from './employees.js';

export const TABLE = 'records';

/** The record of the employee's latest date, and the site the employee is at now. */
export async function findLatestRecord(db: Knex, employeeId: string): Promise<{ record: LegacyRecord; siteId: string | null } | undefined> {
  const row = await db(`${TABLE} as r`)
    .join(`${EMPLOYEES} as e`, 'e.id', 'r.employee_id')
    .where('r.employee_id', employeeId)
    .orderBy('r.date', 'desc')
    .first('r.employee_id as id', 'r.name', 'r.status', 'r.date', 'e.site_id');
  return row && { record: { id: row.id, name: row.name, status: row.status, date: row.date }, siteId: row.site_id };
}

/**
 * A page of records in (employee, date) order, after the given one, of employees at the sites in reach:
 * each read is one short statement.
 */
export async function pageRecords(db: Knex, after: { id: string; date: string } | null, limit: number, sites: Scope): Promise<LegacyRecord[]> {
  const query = db(`${TABLE} as r`).select('r.employee_id as id', 'r.name', 'r.status', 'r.date').orderBy(['r.employee_id', 'r.date']).limit(limit);
  if (after) query.whereRaw('(r.employee_id, r.date) > (?, ?::date)', [after.id, after.date]);
  if (sites !== 'all') query.join(`${EMPLOYEES} as e`, 'e.id', 'r.employee_id').whereIn('e.site_id', [...sites]);
  return query;
}
