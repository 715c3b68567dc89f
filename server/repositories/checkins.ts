import type { Checkin, CheckinListQuery, PresenceEntry } from '../../shared/schemas.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'checkins';
const COLUMNS = ['seq', 'event_id', 'employee_id', 'site_id', 'device_id', 'type', 'occurred_at', 'recorded_at'];

type CheckinRow = {
  seq: number;
  event_id: string;
  employee_id: string;
  site_id: string | null;
  device_id: string | null;
  type: 'in' | 'out';
  occurred_at: Date;
  recorded_at: Date;
};

const fromRow = (r: CheckinRow): Checkin => ({
  seq: r.seq,
  eventId: r.event_id,
  employeeId: r.employee_id,
  siteId: r.site_id,
  deviceId: r.device_id,
  type: r.type,
  occurredAt: r.occurred_at.toISOString(),
  recordedAt: r.recorded_at.toISOString(),
});

/** Insert check-ins in one multi-row statement. */
export async function insertCheckins(trx: Knex.Transaction, checkins: Checkin[]): Promise<void> {
  if (!checkins.length) return;
  await trx(TABLE).insert(
    checkins.map((c) => ({
      seq: c.seq,
      event_id: c.eventId,
      employee_id: c.employeeId,
      site_id: c.siteId,
      device_id: c.deviceId,
      type: c.type,
      occurred_at: c.occurredAt,
      recorded_at: c.recordedAt,
    })),
  );
}

export async function findCheckinsByEventIds(db: Knex | Knex.Transaction, eventIds: string[]): Promise<Map<string, Checkin>> {
  if (!eventIds.length) return new Map();
  const rows: CheckinRow[] = await db(TABLE).whereIn('event_id', eventIds).select(COLUMNS);
  return new Map(rows.map((r) => [r.event_id, fromRow(r)]));
}

/**
 * Each employee's punches between from and to, in time order: the neighbourhood the check-in rules
 * judge a new punch against. One query for a whole batch.
 */
export async function findTimelines(
  trx: Knex.Transaction,
  windows: Array<{ employeeId: string; from: Date; to: Date }>,
): Promise<Map<string, Checkin[]>> {
  const timelines = new Map<string, Checkin[]>(windows.map((w) => [w.employeeId, []]));
  if (!windows.length) return timelines;
  const rows: CheckinRow[] = await trx(TABLE)
    .join(
      trx.raw('(SELECT unnest(?::text[]) AS employee_id, unnest(?::timestamptz[]) AS lo, unnest(?::timestamptz[]) AS hi) AS w', [
        windows.map((w) => w.employeeId),
        windows.map((w) => w.from.toISOString()),
        windows.map((w) => w.to.toISOString()),
      ]),
      function () {
        this.on(`${TABLE}.employee_id`, '=', 'w.employee_id').andOn(`${TABLE}.occurred_at`, '>=', 'w.lo').andOn(`${TABLE}.occurred_at`, '<=', 'w.hi');
      },
    )
    .select(COLUMNS.map((c) => `${TABLE}.${c}`))
    .orderBy([`${TABLE}.employee_id`, `${TABLE}.occurred_at`, `${TABLE}.seq`]);
  for (const r of rows) timelines.get(r.employee_id)!.push(fromRow(r));
  return timelines;
}

export async function listCheckins(db: Knex, q: CheckinListQuery): Promise<Checkin[]> {
  const query = db(TABLE).select(COLUMNS).where('seq', '>', q.after).orderBy('seq').limit(q.limit);
  if (q.employeeId) query.andWhere('employee_id', q.employeeId);
  if (q.siteId) query.andWhere('site_id', q.siteId);
  return (await query).map(fromRow);
}

/**
 * Who is in at a site now: employees whose latest punch (by occurredAt) is an `in` at this site,
 * no older than the longest shift. Reads only the recent punches of people seen at the site.
 */
export async function findPresent(db: Knex | Knex.Transaction, siteId: string, longestShiftMs: number): Promise<PresenceEntry[]> {
  const since = new Date(Date.now() - longestShiftMs);
  const latest = db(TABLE)
    .distinctOn(`${TABLE}.employee_id`)
    .select(`${TABLE}.employee_id`, `${TABLE}.type`, `${TABLE}.site_id`, `${TABLE}.occurred_at`, `${TABLE}.seq`)
    .whereIn(`${TABLE}.employee_id`, db(TABLE).distinct('employee_id').where('site_id', siteId).andWhere('occurred_at', '>', since))
    .andWhere(`${TABLE}.occurred_at`, '>', since)
    .orderBy([`${TABLE}.employee_id`, { column: `${TABLE}.occurred_at`, order: 'desc' }, { column: `${TABLE}.seq`, order: 'desc' }])
    .as('latest');
  const rows = await db
    .from(latest)
    .join('employees', 'employees.id', 'latest.employee_id')
    .where({ 'latest.type': 'in', 'latest.site_id': siteId })
    .orderBy('latest.occurred_at')
    .select('latest.employee_id', 'employees.name', 'latest.occurred_at', 'latest.seq');
  return rows.map((r) => ({ employeeId: r.employee_id, name: r.name, since: r.occurred_at.toISOString(), seq: r.seq }));
}
