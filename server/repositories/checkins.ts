import type { Checkin, CheckinListQuery } from '../../shared/schemas.js';
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

export async function listCheckins(db: Knex, q: CheckinListQuery): Promise<Checkin[]> {
  const query = db(TABLE).select(COLUMNS).where('seq', '>', q.after).orderBy('seq').limit(q.limit);
  if (q.employeeId) query.andWhere('employee_id', q.employeeId);
  if (q.siteId) query.andWhere('site_id', q.siteId);
  return (await query).map(fromRow);
}
