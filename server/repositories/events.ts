import type { StoredEvent } from '../events/event.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { fromRow as checkinFromRow, TABLE as CHECKINS } from './checkins.js';

export const TABLE = 'events';
export const SEQ_TABLE = 'event_seq';

/**
 * A checkin.recorded event stores no payload: the check-in row is its payload, joined on seq, so an
 * event read back can never say other than the check-in does. Other events store theirs in `data`.
 */
const COLUMNS = [
  'e.seq',
  'e.kind',
  'e.site_id',
  'e.employee_id',
  'e.data',
  'c.event_id',
  'c.employee_id as c_employee_id',
  'c.site_id as c_site_id',
  'c.device_id',
  'c.type',
  'c.occurred_at',
  'c.recorded_at',
];

type EventRow = {
  seq: number;
  kind: StoredEvent['name'];
  site_id: string | null;
  employee_id: string | null;
  data: object | null;
  event_id: string | null;
  c_employee_id: string;
  c_site_id: string | null;
  device_id: string | null;
  type: 'in' | 'out';
  occurred_at: Date;
  recorded_at: Date;
};

const fromRow = (r: EventRow): StoredEvent => ({
  seq: r.seq,
  name: r.kind,
  siteId: r.site_id,
  employeeId: r.employee_id,
  payload:
    r.kind === 'checkin.recorded'
      ? checkinFromRow({ ...r, employee_id: r.c_employee_id, site_id: r.c_site_id, event_id: r.event_id! })
      : r.data!,
});

const events = (db: Knex) => db(`${TABLE} as e`).leftJoin(`${CHECKINS} as c`, 'c.seq', 'e.seq').select(COLUMNS);

export async function readHead(db: Knex | Knex.Transaction): Promise<number> {
  const row = await db(SEQ_TABLE).where({ id: 1 }).first('value');
  return row.value;
}

export async function listEventsAfter(db: Knex, after: number, limit: number): Promise<StoredEvent[]> {
  const rows = await events(db).where('e.seq', '>', after).orderBy('e.seq').limit(limit);
  return rows.map(fromRow);
}

/** The events a subscriber with these filters and reach is entitled to, in (after, upTo], in seq order. */
export async function listMatchingEvents(
  db: Knex,
  q: { after: number; upTo: number; sites?: string[]; employees?: string[]; within: Scope; limit: number },
): Promise<StoredEvent[]> {
  const query = events(db).where('e.seq', '>', q.after).andWhere('e.seq', '<=', q.upTo).orderBy('e.seq').limit(q.limit);
  if (q.within !== 'all') query.whereIn('e.site_id', [...q.within]);
  if (q.sites !== undefined || q.employees !== undefined) {
    query.andWhere((w) => {
      w.whereIn('e.site_id', q.sites ?? []).orWhereIn('e.employee_id', q.employees ?? []);
    });
  }
  return (await query).map(fromRow);
}
