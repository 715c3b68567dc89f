import type { AuditQuery } from '../../shared/auth.js';
import type { Knex } from '../db/knex.js';
import { listAudit } from '../repositories/audit.js';

export type AuditService = ReturnType<typeof createAuditService>;

/** Reading the audit log; entries are appended by the services that make the changes, in their transactions. */
export function createAuditService(deps: { db: Knex }) {
  return { list: (q: AuditQuery) => listAudit(deps.db, q) };
}
