import type { StoredEvent } from '../events/event.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { fromRow as checkinFromRow, TABLE as CHECKINS, type CheckinRow } from './checkins.js';

export const TABLE = 'events';
export const SEQ_TABLE = 'event_seq';
/** How far events are pruned (one row): see liquibase/changesets/010-event-retention.xml. */
export const RETENTION_TABLE = 'event_retention';

/**
 * A checkin.recorded event stores no payload: the check-in row is its payload, joined on seq, so an
 * event read back can never say other than the check-in does. Only what the punch recorded is read,
 * never its void (a later event of its own). Other events store theirs in `data`.
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
  'c.reason',
  'c.location',
  'c.geofence',
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
  reason: string | null;
  location: CheckinRow['location'];
  geofence: CheckinRow['geofence'];
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

/** How far events are pruned: every event at or below it is gone. */
export async function readPrunedThrough(db: Knex | Knex.Transaction): Promise<number> {
  const row = await db(RETENTION_TABLE).where({ id: 1 }).first('pruned_through');
  return Number(row.pruned_through);
}

/** Events in seq order after some seq, and how far events are pruned, read in one statement (one snapshot). */
export type KeptEvents = { events: StoredEvent[]; prunedThrough: number };

/**
 * A page of events with the retention watermark beside it, from the same snapshot: when prunedThrough
 * is at or below the page's `after`, no event the page should hold was missing from it.
 */
async function withWatermark(db: Knex, page: Knex.QueryBuilder): Promise<KeptEvents> {
  const rows = await db
    .with('p', page)
    .select('r.pruned_through', 'p.*')
    .from(`${RETENTION_TABLE} as r`)
    .leftJoin('p', db.raw('true'))
    .where('r.id', 1)
    .orderBy('p.seq');
  return { prunedThrough: rows[0].pruned_through, events: rows.filter((r) => r.seq !== null).map(fromRow) };
}

export function listEventsAfter(db: Knex, after: number, limit: number): Promise<KeptEvents> {
  return withWatermark(db, events(db).where('e.seq', '>', after).orderBy('e.seq').limit(limit));
}

/** The events a subscriber with these filters and reach is entitled to, in (after, upTo], in seq order. */
export function listMatchingEvents(
  db: Knex,
  q: { after: number; upTo: number; sites?: string[]; employees?: string[]; within: Scope; limit: number },
): Promise<KeptEvents> {
  const query = events(db).where('e.seq', '>', q.after).andWhere('e.seq', '<=', q.upTo).orderBy('e.seq').limit(q.limit);
  if (q.within !== 'all') query.whereIn('e.site_id', [...q.within]);
  if (q.sites !== undefined || q.employees !== undefined) {
    query.andWhere((w) => {
      w.whereIn('e.site_id', q.sites ?? []).orWhereIn('e.employee_id', q.employees ?? []);
    });
  }
  return withWatermark(db, query);
}

// The pruner's advisory lock (any fixed number no other code uses): one node prunes at a time.
const PRUNE_LOCK = 4_201_016_001;

/**
 * One batch of retention in one statement, which is its own short transaction: delete up to `limit`
 * of the oldest events committed before `before` and move the watermark over them. Only a run from
 * the oldest is taken, up to the first event not old enough, so the events left are exactly those
 * after the watermark. No check-in waits on it: it neither touches the seq counter nor rows a writer
 * uses, and the watermark row is the pruner's alone. The advisory lock is tried, never waited for:
 * `locked: false` means another node is pruning right now, and this one leaves it the work.
 */
export async function pruneEvents(db: Knex, q: { before: Date; limit: number }): Promise<{ locked: boolean; pruned: number; prunedThrough: number }> {
  const { rows } = await db.raw(
    `WITH
      lock AS (SELECT pg_try_advisory_xact_lock(?) AS got),
      oldest AS (SELECT seq, created_at FROM ${TABLE} WHERE (SELECT got FROM lock) ORDER BY seq LIMIT ?),
      batch AS (SELECT seq FROM oldest WHERE seq < coalesce((SELECT min(seq) FROM oldest WHERE created_at >= ?), ${Number.MAX_SAFE_INTEGER})),
      gone AS (DELETE FROM ${TABLE} WHERE seq IN (SELECT seq FROM batch) RETURNING seq),
      moved AS (UPDATE ${RETENTION_TABLE} SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM gone)), pruned_at = now()
        WHERE id = 1 AND EXISTS (SELECT 1 FROM gone) RETURNING pruned_through)
    SELECT (SELECT got FROM lock) AS locked, (SELECT count(*) FROM gone)::int AS pruned,
      coalesce((SELECT pruned_through FROM moved), (SELECT pruned_through FROM ${RETENTION_TABLE} WHERE id = 1)) AS pruned_through`,
    [PRUNE_LOCK, q.limit, q.before],
  );
  const r = rows[0];
  return { locked: r.locked, pruned: r.pruned, prunedThrough: r.pruned_through };
}
