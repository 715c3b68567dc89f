import type { DeliveryQuery, Webhook, WebhookDelivery } from '../../shared/webhooks.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'webhooks';
const DELIVERIES = 'webhook_deliveries';
const COLUMNS = [
  'id',
  'url',
  'events',
  'sites',
  'active',
  'delivered_through',
  'attempts',
  'next_attempt_at',
  'failing_since',
  'last_error',
  'disabled_at',
  'disabled_reason',
  'created_by',
  'created_at',
  'updated_at',
];

type WebhookRow = {
  id: string;
  url: string;
  events: string[];
  sites: string[];
  secret?: string;
  active: boolean;
  delivered_through: string | number;
  attempts: number;
  next_attempt_at: Date;
  failing_since: Date | null;
  last_error: string | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
};

const iso = (d: Date | null) => d?.toISOString() ?? null;

const fromRow = (r: WebhookRow): Webhook => ({
  id: r.id,
  url: r.url,
  events: r.events,
  sites: r.sites,
  active: r.active,
  deliveredThrough: Number(r.delivered_through),
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at.toISOString(),
  failingSince: iso(r.failing_since),
  lastError: r.last_error,
  disabledAt: iso(r.disabled_at),
  disabledReason: r.disabled_reason,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** An endpoint as the dispatcher needs it: with its secret. */
export type Endpoint = Webhook & { secret: string };

export type NewWebhook = { id: string; url: string; events: string[]; sites: string[]; secret: string; createdBy: string | null };

/** A new endpoint starts after the event log's current head: it is sent what happens from now on. */
export async function insertWebhook(trx: Knex.Transaction, w: NewWebhook): Promise<Webhook> {
  const [row] = await trx(TABLE)
    .insert({
      id: w.id,
      url: w.url,
      events: w.events,
      sites: w.sites,
      secret: w.secret,
      created_by: w.createdBy,
      delivered_through: trx('event_seq').where({ id: 1 }).select('value'),
    })
    .returning(COLUMNS);
  return fromRow(row);
}

export async function findWebhook(db: Knex | Knex.Transaction, id: string): Promise<Webhook | undefined> {
  const row = await db(TABLE).where({ id }).first(COLUMNS);
  return row && fromRow(row);
}

export async function findEndpoint(db: Knex, id: string): Promise<Endpoint | undefined> {
  const row = await db(TABLE).where({ id }).first([...COLUMNS, 'secret']);
  return row && { ...fromRow(row), secret: row.secret };
}

export async function anyActiveWebhook(db: Knex): Promise<boolean> {
  return !!(await db(TABLE).where({ active: true }).first('id'));
}

export async function listWebhooks(db: Knex): Promise<Webhook[]> {
  return (await db(TABLE).orderBy('created_at').orderBy('id').select(COLUMNS)).map(fromRow);
}

export type WebhookChange = { url?: string; events?: string[]; sites?: string[]; secret?: string; active?: boolean };

/**
 * Re-enabling starts afresh: due now, no failure counted; disabling by hand says so. Any change takes
 * the lease away: the node delivering stops at its next acknowledgement, and the endpoint is claimed
 * again with what it is now.
 */
export async function updateWebhook(trx: Knex.Transaction, id: string, c: WebhookChange): Promise<Webhook | undefined> {
  const enable = c.active === true ? { attempts: 0, failing_since: null, next_attempt_at: trx.fn.now(), disabled_at: null, disabled_reason: null } : {};
  const disable = c.active === false ? { disabled_at: trx.raw('coalesce(disabled_at, now())'), disabled_reason: trx.raw(`coalesce(disabled_reason, 'disabled by an admin')`) } : {};
  const [row] = await trx(TABLE)
    .where({ id })
    .update({ ...c, ...enable, ...disable, lease_owner: null, lease_until: null, updated_at: trx.fn.now() })
    .returning(COLUMNS);
  return row && fromRow(row);
}

export async function deleteWebhook(trx: Knex.Transaction, id: string): Promise<Webhook | undefined> {
  const [row] = await trx(TABLE).where({ id }).delete().returning(COLUMNS);
  return row && fromRow(row);
}

/** Deliver again from a seq: the endpoint's position moves back to just before it, it is due now, and whoever was delivering stops (its lease is gone). */
export async function rewindWebhook(trx: Knex.Transaction, id: string, fromSeq: number): Promise<Webhook | undefined> {
  const [row] = await trx(TABLE)
    .where({ id })
    .update({ delivered_through: fromSeq - 1, attempts: 0, failing_since: null, next_attempt_at: trx.fn.now(), lease_owner: null, lease_until: null, updated_at: trx.fn.now() })
    .returning(COLUMNS);
  return row && fromRow(row);
}

/**
 * Take the lease of one endpoint that is due and has events after its position, unless another node
 * holds it (a lease past its expiry is free: its holder died). SKIP LOCKED: nodes claiming at once
 * take different endpoints rather than queue on one.
 */
export async function claimDue(db: Knex, q: { owner: string; leaseMs: number; skip: string[] }): Promise<Endpoint | undefined> {
  const { rows } = await db.raw(
    `UPDATE ${TABLE} SET lease_owner = :owner, lease_until = clock_timestamp() + :leaseMs * interval '1 millisecond'
     WHERE id = (
       SELECT id FROM ${TABLE}
       WHERE active AND next_attempt_at <= clock_timestamp() AND (lease_until IS NULL OR lease_until < clock_timestamp())
         AND delivered_through < (SELECT value FROM event_seq WHERE id = 1) AND NOT (id = ANY(:skip::uuid[]))
       ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING ${COLUMNS.join(', ')}, secret`,
    { owner: q.owner, leaseMs: q.leaseMs, skip: q.skip },
  );
  const row = rows[0];
  return row && { ...fromRow(row), secret: row.secret };
}

/** An acknowledged delivery, recorded with the position it moves. */
export type Acknowledged = { seq: number; event: string; attempt: number; status: number | null; durationMs: number };

/**
 * Record, for each endpoint, that its receiver acknowledged through `through` (or that nothing up to
 * it matched), renewing the lease, and log the acknowledged delivery; only where this node still holds
 * the lease. Answers the ids it moved: one missing lost its lease, and its delivery must stop. One
 * statement for every endpoint whose acknowledgement came in meanwhile (the dispatcher batches them).
 *
 * Committed without waiting for the WAL flush (synchronous_commit off for this transaction alone): a
 * flush per delivered event would compete with every check-in's commit. The write is visible at once,
 * so a node that dies resends nothing acknowledged; only a crash of PostgreSQL itself can lose the last
 * fraction of a second of positions, and those events are then sent again (same seq).
 */
export async function advance(db: Knex, q: { owner: string; leaseMs: number; rows: Array<{ id: string; through: number; delivered?: Acknowledged }> }): Promise<Set<string>> {
  // One statement, its own transaction: set_config(…, true) lasts until that transaction's commit.
  const { rows } = await db.raw(
    `WITH moved AS (
       UPDATE ${TABLE} w SET delivered_through = greatest(w.delivered_through, v.through), attempts = 0, failing_since = NULL, last_error = NULL,
         lease_until = clock_timestamp() + :leaseMs * interval '1 millisecond'
       FROM jsonb_to_recordset(:rows::jsonb) AS v(id uuid, through bigint), (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed(setting)
       WHERE w.id = v.id AND w.active AND w.lease_owner = :owner AND w.lease_until > clock_timestamp()
       RETURNING w.id),
     logged AS (
       INSERT INTO ${DELIVERIES} (webhook_id, seq, event, attempt, ok, status, duration_ms)
       SELECT v.id, (v.delivered->>'seq')::bigint, v.delivered->>'event', (v.delivered->>'attempt')::int, true, (v.delivered->>'status')::int,
         (v.delivered->>'durationMs')::int
       FROM jsonb_to_recordset(:rows::jsonb) AS v(id uuid, delivered jsonb) JOIN moved ON moved.id = v.id
       WHERE v.delivered IS NOT NULL)
     SELECT id FROM moved`,
    { owner: q.owner, leaseMs: q.leaseMs, rows: JSON.stringify(q.rows) },
  );
  return new Set((rows as Array<{ id: string }>).map((r) => r.id));
}

/**
 * A failed attempt: wait `delayMs`, counting it; past `disableAfterMs` of failing, disable the endpoint
 * with the reason. Gives the lease back either way.
 */
export async function failed(db: Knex, q: { id: string; owner: string; error: string; delayMs: number; disableAfterMs: number }): Promise<void> {
  await db.raw(
    `UPDATE ${TABLE} SET
       attempts = attempts + 1,
       failing_since = coalesce(failing_since, clock_timestamp()),
       last_error = :error,
       next_attempt_at = clock_timestamp() + :delayMs * interval '1 millisecond',
       active = active AND clock_timestamp() - coalesce(failing_since, clock_timestamp()) < :disableAfterMs * interval '1 millisecond',
       disabled_at = CASE WHEN clock_timestamp() - coalesce(failing_since, clock_timestamp()) >= :disableAfterMs * interval '1 millisecond'
         THEN clock_timestamp() END,
       disabled_reason = CASE WHEN clock_timestamp() - coalesce(failing_since, clock_timestamp()) >= :disableAfterMs * interval '1 millisecond'
         THEN 'failing since ' || to_char(coalesce(failing_since, clock_timestamp()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ': ' || :error END,
       lease_owner = NULL, lease_until = NULL
     WHERE id = :id AND lease_owner = :owner`,
    { id: q.id, owner: q.owner, error: q.error, delayMs: q.delayMs, disableAfterMs: q.disableAfterMs },
  );
}

/** The endpoint's events were pruned before it got them: it cannot be caught up, so it stops, saying why. */
export async function disable(db: Knex, q: { id: string; owner: string; reason: string }): Promise<void> {
  await db(TABLE)
    .where({ id: q.id, lease_owner: q.owner })
    .update({ active: false, disabled_at: db.fn.now(), disabled_reason: q.reason, lease_owner: null, lease_until: null });
}

export async function release(db: Knex, q: { id: string; owner: string }): Promise<void> {
  await db(TABLE).where({ id: q.id, lease_owner: q.owner }).update({ lease_owner: null, lease_until: null });
}

export type NewDelivery = { webhookId: string; seq: number | null; event: string; attempt: number; ok: boolean; status: number | null; error: string | null; durationMs: number };

export async function insertDelivery(db: Knex, d: NewDelivery): Promise<WebhookDelivery> {
  const [row] = await db(DELIVERIES)
    .insert({ webhook_id: d.webhookId, seq: d.seq, event: d.event, attempt: d.attempt, ok: d.ok, status: d.status, error: d.error, duration_ms: d.durationMs })
    .returning('*');
  return deliveryFromRow(row);
}

const deliveryFromRow = (r: { id: string; seq: string | null; event: string; attempt: number; ok: boolean; status: number | null; error: string | null; duration_ms: number; at: Date }): WebhookDelivery => ({
  id: Number(r.id),
  seq: r.seq === null ? null : Number(r.seq),
  event: r.event,
  attempt: r.attempt,
  ok: r.ok,
  status: r.status,
  error: r.error,
  durationMs: r.duration_ms,
  at: r.at.toISOString(),
});

/** An endpoint's attempts, oldest first, paged by id. */
export async function listDeliveries(db: Knex, webhookId: string, q: DeliveryQuery): Promise<{ data: WebhookDelivery[]; next: string | null }> {
  const rows = await db(DELIVERIES)
    .where({ webhook_id: webhookId })
    .andWhere('id', '>', q.after ?? 0)
    .orderBy('id')
    .limit(q.limit + 1);
  const data = rows.slice(0, q.limit).map(deliveryFromRow);
  return { data, next: rows.length > q.limit ? String(data.at(-1)!.id) : null };
}

/** Attempts recorded before `before`, up to `limit` of them. */
export async function pruneDeliveries(db: Knex, q: { before: Date; limit: number }): Promise<number> {
  return db(DELIVERIES).whereIn('id', db(DELIVERIES).where('at', '<', q.before).orderBy('id').limit(q.limit).select('id')).delete();
}
