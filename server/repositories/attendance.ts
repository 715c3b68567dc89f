/** Reads for attendance reports: bounded by a page of employees and a window of instants or dates. */
import type { Knex } from '../db/knex.js';
import { TABLE as CHECKINS } from './checkins.js';
import { TABLE as EMPLOYEES } from './employees.js';
import { TABLE as RECORDS } from './records.js';
import { TABLE as SITES } from './sites.js';

export type ZonedRef = { id: string; name: string; timeZone: string };

/** A check-in as reports need it, with the zone of its day: its site's, else its employee's, else UTC. */
export type StoredPunch = { employeeId: string; type: 'in' | 'out'; at: Date; timeZone: string };

export async function findSite(db: Knex, id: string): Promise<ZonedRef | undefined> {
  const row = await db(SITES).where({ id }).first('id', 'name', 'time_zone');
  return row && { id: row.id, name: row.name, timeZone: row.time_zone };
}

/** The employee with the zone of their site (UTC without one). */
export async function findEmployee(db: Knex, id: string): Promise<ZonedRef | undefined> {
  const row = await db(`${EMPLOYEES} as e`)
    .leftJoin(`${SITES} as s`, 's.id', 'e.site_id')
    .where('e.id', id)
    .first('e.id', 'e.name', db.raw(`coalesce(s.time_zone, 'UTC') as time_zone`));
  return row && { id: row.id, name: row.name, timeZone: row.time_zone };
}

/** One page of a site's active employees in id order; pass the last id seen to get the next. */
export async function pageSiteEmployees(db: Knex, siteId: string, after: string | null, limit: number): Promise<Array<{ id: string; name: string }>> {
  const query = db(EMPLOYEES).where({ site_id: siteId, active: true }).orderBy('id').limit(limit).select('id', 'name');
  if (after !== null) query.andWhere('id', '>', after);
  return query;
}

/** The employees' punches in [from, to), ordered per employee by time (then seq, for equal times). */
export async function listPunches(db: Knex, employeeIds: string[], from: Date, to: Date): Promise<StoredPunch[]> {
  if (!employeeIds.length) return [];
  const rows = await db(`${CHECKINS} as c`)
    .join(`${EMPLOYEES} as e`, 'e.id', 'c.employee_id')
    .leftJoin(`${SITES} as cs`, 'cs.id', 'c.site_id')
    .leftJoin(`${SITES} as es`, 'es.id', 'e.site_id')
    .whereIn('c.employee_id', employeeIds)
    .andWhere('c.occurred_at', '>=', from)
    .andWhere('c.occurred_at', '<', to)
    .orderBy(['c.employee_id', 'c.occurred_at', 'c.seq'])
    .select('c.employee_id', 'c.type', 'c.occurred_at', db.raw(`coalesce(cs.time_zone, es.time_zone, 'UTC') as time_zone`));
  return rows.map((r) => ({ employeeId: r.employee_id, type: r.type, at: r.occurred_at, timeZone: r.time_zone }));
}

/** The older API's record statuses for the employees and dates (both included): employee → date → status. */
export async function listStatuses(db: Knex, employeeIds: string[], from: string, to: string): Promise<Map<string, Map<string, string>>> {
  const statuses = new Map<string, Map<string, string>>();
  if (!employeeIds.length) return statuses;
  const rows = await db(RECORDS)
    .whereIn('employee_id', employeeIds)
    .andWhereBetween('date', [from, to])
    .whereNotNull('status')
    .select('employee_id', 'date', 'status');
  for (const r of rows) {
    if (!statuses.has(r.employee_id)) statuses.set(r.employee_id, new Map());
    statuses.get(r.employee_id)!.set(r.date, r.status);
  }
  return statuses;
}
