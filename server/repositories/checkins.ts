import type { Checkin, CheckinListQuery, Location, Page, PresenceEntry } from '../../shared/schemas.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'checkins';
/** What a punch recorded: never changed once written (a checkin.recorded event's payload is read from these). */
export const RECORDED_COLUMNS = ['seq', 'event_id', 'employee_id', 'site_id', 'device_id', 'type', 'occurred_at', 'recorded_at', 'reason', 'location', 'geofence'];
/** And whether, when, by whom and why it was voided since. */
export const COLUMNS = [...RECORDED_COLUMNS, 'voided_seq', 'voided_at', 'voided_by', 'void_reason'];

/** A checkins row as pg returns it (Date timestamps) or as json_agg does (ISO strings). */
export type CheckinRow = {
  seq: number;
  event_id: string;
  employee_id: string;
  site_id: string | null;
  device_id: string | null;
  type: 'in' | 'out';
  occurred_at: Date | string;
  recorded_at: Date | string;
  reason?: string | null;
  location?: Location | null;
  geofence?: Checkin['geofence'] | null;
  voided_seq?: number | string | null;
  voided_at?: Date | string | null;
  voided_by?: string | null;
  void_reason?: string | null;
};

export const fromRow = (r: CheckinRow): Checkin => ({
  seq: Number(r.seq),
  eventId: r.event_id,
  employeeId: r.employee_id,
  siteId: r.site_id,
  deviceId: r.device_id,
  type: r.type,
  occurredAt: new Date(r.occurred_at).toISOString(),
  recordedAt: new Date(r.recorded_at).toISOString(),
  ...(r.reason == null ? {} : { reason: r.reason }),
  ...(r.location == null ? {} : { location: r.location }),
  ...(r.geofence == null ? {} : { geofence: r.geofence }),
  ...(r.voided_seq == null ? {} : { voided: { seq: Number(r.voided_seq), at: new Date(r.voided_at!).toISOString(), by: r.voided_by ?? null, reason: r.void_reason! } }),
});

/** A page in seq order; one row more than the page is read, only to tell whether another follows. */
export async function listCheckins(db: Knex, q: CheckinListQuery, sites: Scope): Promise<Page<Checkin>> {
  const query = db(TABLE).select(COLUMNS).where('seq', '>', q.after).orderBy('seq').limit(q.limit + 1);
  if (sites !== 'all') query.whereIn('site_id', [...sites]);
  if (q.employeeId) query.andWhere('employee_id', q.employeeId);
  if (q.siteId) query.andWhere('site_id', q.siteId);
  if (q.from) query.andWhere('occurred_at', '>=', new Date(q.from));
  if (q.to) query.andWhere('occurred_at', '<', new Date(q.to));
  const rows = (await query).map(fromRow);
  const data = rows.slice(0, q.limit);
  return { data, next: rows.length > q.limit ? String(data.at(-1)!.seq) : null };
}

/**
 * Check-ins whose date, in their site's zone (their employee's site's without one; UTC without
 * either), falls in from..to, in seq order, a page at a time: at the sites in reach (those at no site:
 * admins only), or one of them.
 */
export async function* exportCheckins(db: Knex, q: { from: string; to: string; siteId?: string; scope: Scope; pageSize: number }): AsyncGenerator<Checkin> {
  // Zones are at most 14 hours from UTC: a day either side bounds the instants, so the index on occurred_at serves.
  const lo = new Date(Date.parse(`${q.from}T00:00:00Z`) - 86_400_000);
  const hi = new Date(Date.parse(`${q.to}T00:00:00Z`) + 2 * 86_400_000);
  for (let after = 0; ; ) {
    const query = db(`${TABLE} as c`)
      .join('employees as e', 'e.id', 'c.employee_id')
      .leftJoin('sites as s', 's.id', 'c.site_id')
      .leftJoin('sites as es', 'es.id', 'e.site_id')
      .where('c.seq', '>', after)
      .andWhere('c.occurred_at', '>=', lo)
      .andWhere('c.occurred_at', '<', hi)
      .andWhereRaw(`(c.occurred_at AT TIME ZONE coalesce(s.time_zone, es.time_zone, 'UTC'))::date BETWEEN ?::date AND ?::date`, [q.from, q.to])
      .orderBy('c.seq')
      .limit(q.pageSize)
      .select(COLUMNS.map((c) => `c.${c}`));
    if (q.scope !== 'all') query.whereIn('c.site_id', [...q.scope]);
    if (q.siteId) query.andWhere('c.site_id', q.siteId);
    const rows = (await query).map(fromRow);
    yield* rows;
    if (rows.length < q.pageSize) return;
    after = rows.at(-1)!.seq;
  }
}

/** One check-in by its eventId, voided or not. */
export async function findCheckin(db: Knex, eventId: string): Promise<Checkin | undefined> {
  const row = await db(TABLE).where({ event_id: eventId }).first(COLUMNS);
  return row && fromRow(row);
}

/** The sites of these employees' latest punches: where presence may list them. */
export async function latestPunchSites(db: Knex, employeeIds: string[]): Promise<Set<string>> {
  if (!employeeIds.length) return new Set();
  const rows = await db(TABLE)
    .distinctOn('employee_id')
    .whereIn('employee_id', employeeIds)
    .whereNull('voided_seq')
    .orderBy([{ column: 'employee_id' }, { column: 'occurred_at', order: 'desc' }, { column: 'seq', order: 'desc' }])
    .select('employee_id', 'site_id');
  return new Set(rows.flatMap((r: { site_id: string | null }) => (r.site_id ? [r.site_id] : [])));
}

/** The site of an employee's latest punch (by occurredAt), where presence can list them; null if none. */
export async function latestPunchSite(db: Knex, employeeId: string): Promise<string | null> {
  const row = await db(TABLE).where({ employee_id: employeeId }).whereNull('voided_seq').orderBy([{ column: 'occurred_at', order: 'desc' }, { column: 'seq', order: 'desc' }]).first('site_id');
  return row?.site_id ?? null;
}

/**
 * Who is in at a site now: active employees whose latest punch (by occurredAt) is an `in` at this
 * site, no older than the longest shift. Reads only the recent punches of people seen at the site.
 */
export async function findPresent(db: Knex | Knex.Transaction, siteId: string, longestShiftMs: number): Promise<PresenceEntry[]> {
  const since = new Date(Date.now() - longestShiftMs);
  const latest = db(TABLE)
    .distinctOn(`${TABLE}.employee_id`)
    .select(`${TABLE}.employee_id`, `${TABLE}.type`, `${TABLE}.site_id`, `${TABLE}.occurred_at`, `${TABLE}.seq`)
    .whereIn(`${TABLE}.employee_id`, db(TABLE).distinct('employee_id').where('site_id', siteId).andWhere('occurred_at', '>', since))
    .andWhere(`${TABLE}.occurred_at`, '>', since)
    .whereNull(`${TABLE}.voided_seq`)
    .orderBy([`${TABLE}.employee_id`, { column: `${TABLE}.occurred_at`, order: 'desc' }, { column: `${TABLE}.seq`, order: 'desc' }])
    .as('latest');
  const rows = await db
    .from(latest)
    .join('employees', 'employees.id', 'latest.employee_id')
    .where({ 'latest.type': 'in', 'latest.site_id': siteId, 'employees.active': true })
    .orderBy('latest.occurred_at')
    .select('latest.employee_id', 'employees.name', 'latest.occurred_at', 'latest.seq');
  return rows.map((r) => ({ employeeId: r.employee_id, name: r.name, since: r.occurred_at.toISOString(), seq: r.seq }));
}
