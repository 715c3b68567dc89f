import type { Knex } from '../db/knex.js';

export const TABLE = 'events';
export const SEQ_TABLE = 'event_seq';

export type HubEventKind = 'checkin.recorded' | 'presence.changed' | 'record.updated';

export type HubEvent = {
  seq: number;
  kind: HubEventKind;
  siteId: string | null;
  employeeId: string | null;
  data: unknown;
};

type EventRow = { seq: number; kind: HubEventKind; site_id: string | null; employee_id: string | null; data: unknown };

const toRow = (e: HubEvent): EventRow => ({
  seq: e.seq,
  kind: e.kind,
  site_id: e.siteId,
  employee_id: e.employeeId,
  data: JSON.stringify(e.data),
});

const fromRow = (r: EventRow): HubEvent => ({
  seq: r.seq,
  kind: r.kind,
  siteId: r.site_id,
  employeeId: r.employee_id,
  data: r.data,
});

/**
 * Lock the seq counter and return the current head. Every writer takes this lock first, so writers
 * (on every node) are serialized until commit: seqs come out gapless and in commit order.
 */
export async function lockHead(trx: Knex.Transaction): Promise<{ head: number; now: Date }> {
  const row = await trx(SEQ_TABLE).where({ id: 1 }).forUpdate().first('value', trx.raw('now() as now'));
  return { head: row.value, now: row.now };
}

/** Move the counter to the last seq this transaction used (the lock is already held). */
export async function advanceHead(trx: Knex.Transaction, head: number): Promise<void> {
  await trx(SEQ_TABLE).where({ id: 1 }).update({ value: head });
}

export async function readHead(db: Knex | Knex.Transaction): Promise<number> {
  const row = await db(SEQ_TABLE).where({ id: 1 }).first('value');
  return row.value;
}

export async function insertEvents(trx: Knex.Transaction, events: HubEvent[]): Promise<void> {
  if (events.length) await trx(TABLE).insert(events.map(toRow));
}

export async function listEventsAfter(db: Knex, after: number, limit: number): Promise<HubEvent[]> {
  const rows = await db(TABLE).where('seq', '>', after).orderBy('seq').limit(limit);
  return rows.map(fromRow);
}

/** The events a subscriber with these filters is entitled to, in (after, upTo], in seq order. */
export async function listMatchingEvents(
  db: Knex,
  q: { after: number; upTo: number; sites?: string[]; employees?: string[]; limit: number },
): Promise<HubEvent[]> {
  const query = db(TABLE).where('seq', '>', q.after).andWhere('seq', '<=', q.upTo).orderBy('seq').limit(q.limit);
  if (q.sites !== undefined || q.employees !== undefined) {
    query.andWhere((w) => {
      w.whereIn('site_id', q.sites ?? []).orWhereIn('employee_id', q.employees ?? []);
    });
  }
  return (await query).map(fromRow);
}
