import { randomUUID } from 'node:crypto';
import type { Who } from '../auth/actor.js';
import { fingerprint } from '../crypto.js';
import type { Knex } from '../db/knex.js';
import { appendAudit } from '../repositories/audit.js';
import { adminExists, findTokenByHash, insertToken } from '../repositories/tokens.js';
import { newTokenSecret, TOKEN_PREFIX } from './tokens.js';

const SYSTEM: Who = { actorKind: 'anonymous', actorId: 'system:first-start', actorRole: null, ip: null, requestId: null };

// Nodes starting together take turns: only the first finds no admin.
const BOOTSTRAP_LOCK = 'hub_first_admin';

export type FirstAdmin =
  /** A random admin token was made: its secret, to show once. */
  | { made: 'generated'; secret: string }
  | { made: 'from ADMIN_TOKEN' }
  /** Admins exist; ADMIN_TOKEN, if set, is not one of this hub's tokens. */
  | { made: 'nothing'; adminTokenUnknown: boolean };

/**
 * On a database with no way in for an admin, make one: an admin API token, from ADMIN_TOKEN when it is
 * set (so scripts and compose can provision it) or random.
 */
export async function ensureAdmin(db: Knex, adminToken: string | undefined): Promise<FirstAdmin> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [BOOTSTRAP_LOCK]);
    if (await adminExists(trx)) {
      const adminTokenUnknown = adminToken !== undefined && !(await findTokenByHash(trx, fingerprint(adminToken)));
      return { made: 'nothing', adminTokenUnknown };
    }
    const generated = adminToken === undefined ? newTokenSecret() : null;
    const secret = generated?.secret ?? adminToken!;
    const prefix = secret.startsWith(TOKEN_PREFIX) ? secret.slice(0, TOKEN_PREFIX.length + 6) : `${secret.slice(0, 4)}…`;
    const token = await insertToken(trx, { id: randomUUID(), name: 'first admin', role: 'admin', sites: [], secretHash: fingerprint(secret), prefix, createdBy: SYSTEM.actorId, expiresAt: null });
    await appendAudit(trx, [{ who: SYSTEM, action: 'create', entity: 'token', entityId: token.id, changes: { name: token.name, role: 'admin', from: generated ? 'generated' : 'ADMIN_TOKEN' } }]);
    return generated ? { made: 'generated', secret: generated.secret } : { made: 'from ADMIN_TOKEN' };
  });
}
