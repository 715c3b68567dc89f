/** Reads for attendance reports: bounded by a page of employees and a window of instants or dates. */
import type { Knex } from '../db/knex.js';
import { TABLE as CHECKINS } from './checkins.js';
import { TABLE as EMPLOYEES } from './employees.js';
import { TABLE as RECORDS } from './records.js';
import { TABLE as SITES } from './sites.js';

export type ZonedRef = { id: string; name: string; timeZone: string };

/**
 * A check-in as reports need it: where it counts (its site, else its employee's) and the zone of its
 * day (that site's, else UTC).
 */
export type StoredPunch = { employeeId: string; type: 'in' | 'out'; at: Date; siteId: string | null; timeZone: string };

export async function findSite(db: Knex, id: string): Promise<ZonedRef | undefined> {
  const row = await db(SITES).where({ id }).first('id', 'name', 'time_zone');
  return row && { id: row.id, name: row.name, timeZone: row.time_zone };
}

/** The employee with their site and its zone (UTC without one). */
export async function findEmployee(db: Knex, id: string): Promise<(ZonedRef & { siteId: string | null }) | undefined> {
  const row = await db(`${EMPLOYEES} as e`)
    .leftJoin(`${SITES} as s`, 's.id', 'e.site_id')
    .where('e.id', id)
    .first('e.id', 'e.name', 'e.site_id', db.raw(`coalesce(s.time_zone, 'UTC') as time_zone`));
  return row && { id: row.id, name: row.name, siteId: row.site_id, timeZone: row.time_zone };
}

/** `siteId` and `timeZone` are the employee's own (their shifts run there; UTC without a site). */
export type DailyEmployee = { id: string; name: string; siteId: string | null; timeZone: string };

/**
 * One page, in id order, of the employees a site's daily report may list: those who opened a session
 * at the site that day, active or not and wherever they belong now, and the site's
 * active employees. A check-in without a site counts at its employee's site, as its zone does. The
 * day is the date in the site's zone. Each side of the union is cut to a page before it is merged.
 */
export async function pageDailyEmployees(db: Knex, site: ZonedRef, date: string, after: string | null, limit: number): Promise<DailyEmployee[]> {
  // Where the date `days` after this one starts in the site's zone; bound as parameters, the index still serves.
  const midnight = (days: number) => db.raw('(?::date + ?::int)::timestamp at time zone ?', [date, days, site.timeZone]);
  const opensThatDay = (q: Knex.QueryBuilder) => q.where('c.type', 'in').whereNull('c.voided_seq').andWhere('c.occurred_at', '>=', midnight(0)).andWhere('c.occurred_at', '<', midnight(1));
  const fromAfter = (q: Knex.QueryBuilder) => (after === null ? q : q.andWhere('id', '>', after));
  const worked = db(`${CHECKINS} as c`)
    .select('c.employee_id as id')
    .where('c.site_id', site.id)
    .modify(opensThatDay)
    .union(
      db(`${CHECKINS} as c`)
        .join(`${EMPLOYEES} as e`, 'e.id', 'c.employee_id')
        .select('c.employee_id')
        .where('e.site_id', site.id)
        .whereNull('c.site_id')
        .modify(opensThatDay),
    );
  const page = db.union(
    [
      db('worked').select('id').modify(fromAfter).orderBy('id').limit(limit),
      db(EMPLOYEES).select('id').where({ site_id: site.id, active: true }).modify(fromAfter).orderBy('id').limit(limit),
    ],
    true,
  );
  const rows = await db
    .with('worked', worked)
    .with('page', page)
    .from('page')
    .join(`${EMPLOYEES} as e`, 'e.id', 'page.id')
    .leftJoin(`${SITES} as es`, 'es.id', 'e.site_id')
    .orderBy('e.id')
    .limit(limit)
    .select('e.id', 'e.name', 'e.site_id', db.raw(`coalesce(es.time_zone, 'UTC') as time_zone`));
  return rows.map((r) => ({ id: r.id, name: r.name, siteId: r.site_id, timeZone: r.time_zone }));
}

/** One page, in id order, of a site's active employees, with their site's zone. */
export async function pageSiteEmployees(db: Knex, site: ZonedRef, after: string | null, limit: number): Promise<DailyEmployee[]> {
  const rows = await db(EMPLOYEES)
    .where({ site_id: site.id, active: true })
    .modify((q) => (after === null ? q : q.andWhere('id', '>', after)))
    .orderBy('id')
    .limit(limit)
    .select<Array<{ id: string; name: string }>>('id', 'name');
  return rows.map((r) => ({ id: r.id, name: r.name, siteId: site.id, timeZone: site.timeZone }));
}

/** The employees' punches in [from, to) that stand (voided ones left out), ordered per employee by time (then seq, for equal times). */
export async function listPunches(db: Knex, employeeIds: string[], from: Date, to: Date): Promise<StoredPunch[]> {
  if (!employeeIds.length) return [];
  const rows = await db(`${CHECKINS} as c`)
    .join(`${EMPLOYEES} as e`, 'e.id', 'c.employee_id')
    .leftJoin(`${SITES} as cs`, 'cs.id', 'c.site_id')
    .leftJoin(`${SITES} as es`, 'es.id', 'e.site_id')
    .whereIn('c.employee_id', employeeIds)
    .andWhere('c.occurred_at', '>=', from)
    .andWhere('c.occurred_at', '<', to)
    .whereNull('c.voided_seq')
    .orderBy(['c.employee_id', 'c.occurred_at', 'c.seq'])
    .select(
      'c.employee_id',
      'c.type',
      'c.occurred_at',
      db.raw('coalesce(c.site_id, e.site_id) as site_id'),
      db.raw(`coalesce(cs.time_zone, es.time_zone, 'UTC') as time_zone`),
    );
  return rows.map((r) => ({ employeeId: r.employee_id, type: r.type, at: r.occurred_at, siteId: r.site_id, timeZone: r.time_zone }));
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
