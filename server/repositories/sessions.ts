import type { User } from '../../shared/auth.js';
import type { Knex } from '../db/knex.js';
import { TABLE as USERS } from './users.js';

export const TABLE = 'sessions';

export type Session = { id: string; userId: string; expiresAt: Date; endedAt: Date | null; user: Pick<User, 'id' | 'name' | 'role' | 'sites' | 'active'> };

export async function insertSession(db: Knex | Knex.Transaction, s: { id: string; secretHash: string; userId: string; expiresAt: Date }): Promise<void> {
  await db(TABLE).insert({ id: s.id, secret_hash: s.secretHash, user_id: s.userId, expires_at: s.expiresAt });
}

/** The session with this secret's fingerprint, with its user as it is now. */
export async function findSessionByHash(db: Knex, secretHash: string): Promise<Session | undefined> {
  const row = await db(`${TABLE} as s`)
    .join(`${USERS} as u`, 'u.id', 's.user_id')
    .where('s.secret_hash', secretHash)
    .first('s.id', 's.user_id', 's.expires_at', 's.ended_at', 'u.name', 'u.role', 'u.sites', 'u.active');
  return (
    row && {
      id: row.id,
      userId: row.user_id,
      expiresAt: row.expires_at,
      endedAt: row.ended_at,
      user: { id: row.user_id, name: row.name, role: row.role, sites: row.sites, active: row.active },
    }
  );
}

/** End sessions: one (logout) or all of a user's (deactivation, password change). Answers the ids ended. */
export async function endSessions(db: Knex | Knex.Transaction, where: { id: string } | { userId: string }): Promise<string[]> {
  const q = db(TABLE).whereNull('ended_at').update({ ended_at: db.fn.now() }).returning('id');
  if ('id' in where) q.where({ id: where.id });
  else q.where({ user_id: where.userId });
  return (await q).map((r: { id: string }) => r.id);
}
