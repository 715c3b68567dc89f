import { randomUUID } from 'node:crypto';
import type { LoginInput, User } from '../../shared/auth.js';
import type { Who } from '../auth/actor.js';
import type { Revocations } from '../auth/revocations.js';
import { fingerprint, hashSecret, randomSecret, verifySecret } from '../crypto.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError } from '../errors.js';
import type { LimiterFactory } from '../limits.js';
import { appendAudit } from '../repositories/audit.js';
import { endSessions, insertSession } from '../repositories/sessions.js';
import { findUserForLogin } from '../repositories/users.js';

export type SessionService = ReturnType<typeof createSessionService>;

export type LoginLimits = { perUser: number; perIp: number; windowSeconds: number };

// Each wrong password delays the answer to the next by this much more, up to the cap: slowed, then
// (past the limits) refused.
const SLOWDOWN_STEP_MS = 200;
const SLOWDOWN_MAX_MS = 2000;

// Checked against when the username is unknown, so an unknown name costs as long as a wrong password.
const NOBODY = hashSecret(randomSecret());

/**
 * Sign-in for people. A session is a random secret in an httpOnly cookie; PostgreSQL keeps its
 * fingerprint, so any node accepts it and logout ends it everywhere at once. Wrong passwords are
 * counted per user and per IP, across nodes and workers (server/limits.ts).
 */
export function createSessionService(deps: { db: Knex; revocations: Revocations; limiter: LimiterFactory; limits: LoginLimits; sessionHours: number }) {
  const { db, revocations, limits } = deps;
  const byUser = deps.limiter('login-user', limits.perUser, limits.windowSeconds);
  const byIp = deps.limiter('login-ip', limits.perIp, limits.windowSeconds);

  /** How many wrong passwords each key has in the window, and how long until the oldest expires. */
  async function failures(username: string, ip: string) {
    const [u, i] = await Promise.all([byUser.get(username), byIp.get(ip)]);
    return { user: u?.consumedPoints ?? 0, ip: i?.consumedPoints ?? 0, msLeft: Math.max(u?.msBeforeNext ?? 0, i?.msBeforeNext ?? 0) };
  }

  const audit = (who: Who, action: string, username: string, changes: object = {}) =>
    appendAudit(db, [{ who, action, entity: 'session', entityId: null, changes: { username, ...changes } }]);

  return {
    async login(input: LoginInput, from: { ip: string | null; requestId: string | null }): Promise<{ secret: string; expiresAt: Date; user: User }> {
      const ip = from.ip ?? 'unknown';
      const anonymous: Who = { actorKind: 'anonymous', actorId: `username:${input.username}`, actorRole: null, ...from };
      const before = await failures(input.username, ip);
      if (before.user >= limits.perUser || before.ip >= limits.perIp) {
        await audit(anonymous, 'login_refused', input.username, { reason: 'locked' });
        const seconds = Math.max(1, Math.ceil(before.msLeft / 1000));
        throw new AppError(429, 'login_locked', `too many wrong passwords; retry in ${seconds} s`, { retryAfterSeconds: seconds }, seconds);
      }
      const user = await findUserForLogin(db, input.username);
      const ok = await verifySecret(input.password, user?.passwordHash ?? (await NOBODY));
      if (!user || !ok || !user.active) {
        await Promise.all([byUser.consume(input.username).catch(() => undefined), byIp.consume(ip).catch(() => undefined)]);
        await audit(anonymous, 'login_failed', input.username);
        const slowdown = Math.min(SLOWDOWN_MAX_MS, SLOWDOWN_STEP_MS * (Math.max(before.user, before.ip) + 1));
        await new Promise((resolve) => setTimeout(resolve, slowdown));
        throw new AppError(401, 'invalid_credentials', 'wrong username or password');
      }
      await byUser.delete(input.username).catch(() => undefined);
      const secret = randomSecret();
      const expiresAt = new Date(Date.now() + deps.sessionHours * 3600_000);
      const id = randomUUID();
      await inTransaction(db, async (trx) => {
        await insertSession(trx, { id, secretHash: fingerprint(secret), userId: user.id, expiresAt });
        await appendAudit(trx, [{ who: { actorKind: 'session', actorId: user.id, actorRole: user.role, ...from }, action: 'login', entity: 'session', entityId: id, changes: { username: user.username } }]);
      });
      const { passwordHash: _, ...shown } = user;
      return { secret, expiresAt, user: shown };
    },

    /** Ends the session on every node at once. */
    async logout(sessionId: string, who: Who): Promise<void> {
      const ended = await inTransaction(db, async (trx) => {
        const ended = await endSessions(trx, { id: sessionId });
        await appendAudit(trx, [{ who, action: 'logout', entity: 'session', entityId: sessionId }]);
        return ended;
      });
      revocations.revoke(ended.map((id) => ({ kind: 'session' as const, id })));
    },
  };
}
