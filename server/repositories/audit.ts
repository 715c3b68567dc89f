import type { AuditEntry, AuditQuery } from '../../shared/auth.js';
import type { Page } from '../../shared/schemas.js';
import type { Who } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'audit_log';

/** One audited change: who did what to which entity, and what changed (never a secret). */
export type AuditRecord = { who: Who; action: string; entity: string; entityId: string | null; changes?: object };

export const auditRow = ({ who, action, entity, entityId, changes }: AuditRecord) => ({
  actor_kind: who.actorKind,
  actor_id: who.actorId,
  actor_role: who.actorRole,
  ip: who.ip,
  request_id: who.requestId,
  action,
  entity,
  entity_id: entityId,
  // An object (pg sends it as JSON); never an array, which pg would send as a PostgreSQL array.
  changes: changes === undefined ? null : changes,
});

/** Append, in the caller's transaction: the entry commits with the change or not at all. */
export async function appendAudit(db: Knex | Knex.Transaction, records: AuditRecord[]): Promise<void> {
  if (records.length) await db(TABLE).insert(records.map(auditRow));
}

export async function listAudit(db: Knex, q: AuditQuery): Promise<Page<AuditEntry>> {
  const query = db(TABLE).where('id', '>', q.after).orderBy('id').limit(q.limit + 1).select('*');
  if (q.actor) query.andWhere('actor_id', q.actor);
  if (q.entity) query.andWhere('entity', q.entity);
  const rows = (await query).map((r) => ({
    id: Number(r.id),
    at: r.at.toISOString(),
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    actorRole: r.actor_role,
    ip: r.ip,
    requestId: r.request_id,
    action: r.action,
    entity: r.entity,
    entityId: r.entity_id,
    changes: r.changes,
  }));
  const data = rows.slice(0, q.limit);
  return { data, next: rows.length > q.limit ? String(data.at(-1)!.id) : null };
}
