import type { Actor } from '../auth/actor.js';
import { fingerprint } from '../crypto.js';
import type { Knex } from '../db/knex.js';
import { findSessionByHash } from '../repositories/sessions.js';
import { findTokenByHash } from '../repositories/tokens.js';

export type CredentialService = ReturnType<typeof createCredentialService>;

const sitesOf = (role: Actor['role'], sites: string[]) => (role === 'admin' ? 'all' : new Set(sites));

/** A presented secret → the actor it proves, or null when it proves nothing (unknown, revoked, expired, ended). */
export function createCredentialService(deps: { db: Knex }) {
  const { db } = deps;
  return {
    async byToken(secret: string, now = new Date()): Promise<Actor | null> {
      const token = await findTokenByHash(db, fingerprint(secret));
      if (!token || token.revokedAt) return null;
      const expiresAt = token.expiresAt ? new Date(token.expiresAt) : null;
      if (expiresAt && expiresAt <= now) return null;
      return { id: token.id, name: token.name, role: token.role, sites: sitesOf(token.role, token.sites), credential: { kind: 'token', id: token.id }, expiresAt, ...(token.geofenceExempt ? { geofenceExempt: true as const } : {}) };
    },

    async bySession(secret: string, now = new Date()): Promise<Actor | null> {
      const session = await findSessionByHash(db, fingerprint(secret));
      if (!session || session.endedAt || session.expiresAt <= now || !session.user.active) return null;
      const { user } = session;
      return { id: user.id, name: user.name, role: user.role, sites: sitesOf(user.role, user.sites), credential: { kind: 'session', id: session.id }, expiresAt: session.expiresAt };
    },
  };
}
