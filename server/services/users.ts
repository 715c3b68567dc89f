import { randomUUID } from 'node:crypto';
import type { User, UserCreate, UserUpdate } from '../../shared/auth.js';
import type { PageQuery } from '../../shared/schemas.js';
import type { Who } from '../auth/actor.js';
import type { Revocations } from '../auth/revocations.js';
import { hashSecret } from '../crypto.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { appendAudit } from '../repositories/audit.js';
import { endSessions } from '../repositories/sessions.js';
import { findUser, insertUser, listUsers, updateUser } from '../repositories/users.js';
import { requireSites } from './sitesExist.js';

export type UserService = ReturnType<typeof createUserService>;

const siteList = (role: User['role'], sites: string[] | undefined) => (role === 'admin' ? [] : [...new Set(sites ?? [])]);

/** People who sign in (admins and managers). Passwords are hashed before a transaction opens: scrypt takes tens of ms and needs no locks. */
export function createUserService(deps: { db: Knex; revocations: Revocations }) {
  const { db, revocations } = deps;

  function found(user: User | undefined, id: string): User {
    if (!user) throw new NotFoundError('user_not_found', `no user with id ${id}`);
    return user;
  }

  return {
    async create(input: UserCreate, who: Who): Promise<User> {
      const passwordHash = await hashSecret(input.password);
      const sites = siteList(input.role, input.sites);
      return inTransaction(db, async (trx) => {
        await requireSites(trx, sites);
        const user = await insertUser(trx, { id: randomUUID(), username: input.username, name: input.name, passwordHash, role: input.role, sites });
        if (!user) throw new AppError(409, 'username_taken', `a user named ${input.username} already exists`);
        await appendAudit(trx, [{ who, action: 'create', entity: 'user', entityId: user.id, changes: { username: user.username, name: user.name, role: user.role, sites } }]);
        return user;
      });
    },

    get: async (id: string) => found(await findUser(db, id), id),
    list: (page: PageQuery) => listUsers(db, page),

    /** A new password, role or sites, or deactivation, ends the user's sessions: they sign in again under the new terms. */
    async update(id: string, patch: UserUpdate, who: Who): Promise<User> {
      const { password, ...rest } = patch;
      const passwordHash = password === undefined ? undefined : await hashSecret(password);
      const { user, ended } = await inTransaction(db, async (trx) => {
        const before = found(await findUser(trx, id), id);
        const role = rest.role ?? before.role;
        const sites = rest.sites === undefined && rest.role === undefined ? undefined : siteList(role, rest.sites ?? before.sites);
        if (sites) await requireSites(trx, sites);
        if (role !== 'admin' && (sites ?? before.sites).length === 0) throw new AppError(400, 'validation_failed', 'every role but admin needs at least one site');
        const user = found(await updateUser(trx, id, { ...rest, sites, passwordHash }), id);
        const ends = password !== undefined || rest.role !== undefined || sites !== undefined || rest.active === false;
        const ended = ends ? await endSessions(trx, { userId: id }) : [];
        await appendAudit(trx, [{ who, action: 'update', entity: 'user', entityId: id, changes: { ...rest, ...(sites ? { sites } : {}), ...(password ? { password: 'changed' } : {}) } }]);
        return { user, ended };
      });
      revocations.revoke(ended.map((sessionId) => ({ kind: 'session' as const, id: sessionId })));
      return user;
    },
  };
}
