import { randomUUID } from 'node:crypto';
import type { CreatedToken, Token, TokenCreate } from '../../shared/auth.js';
import type { PageQuery } from '../../shared/schemas.js';
import type { Who } from '../auth/actor.js';
import type { Revocations } from '../auth/revocations.js';
import { fingerprint, randomSecret } from '../crypto.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { NotFoundError } from '../errors.js';
import { appendAudit } from '../repositories/audit.js';
import { insertToken, listTokens, revokeToken } from '../repositories/tokens.js';
import { requireSites } from './sitesExist.js';

export type TokenService = ReturnType<typeof createTokenService>;

/** Every token starts so: secret scanners (and people) can tell a leaked hub token from noise. */
export const TOKEN_PREFIX = 'ahub_';

/** A new token's secret: the prefix and 256 random bits. */
export function newTokenSecret(): { secret: string; hash: string; prefix: string } {
  const secret = `${TOKEN_PREFIX}${randomSecret()}`;
  return { secret, hash: fingerprint(secret), prefix: secret.slice(0, TOKEN_PREFIX.length + 6) };
}

/** Sites are what a token may act on; an admin's reach every site, so none are kept. */
const siteList = (t: Pick<TokenCreate, 'role' | 'sites'>) => (t.role === 'admin' ? [] : [...new Set(t.sites ?? [])]);

export function createTokenService(deps: { db: Knex; revocations: Revocations }) {
  const { db, revocations } = deps;
  return {
    /** The secret is in this answer only; PostgreSQL keeps its fingerprint. */
    async create(input: TokenCreate, who: Who, secret = newTokenSecret()): Promise<CreatedToken> {
      const sites = siteList(input);
      const token = await inTransaction(db, async (trx) => {
        await requireSites(trx, sites);
        const token = await insertToken(trx, {
          id: randomUUID(),
          name: input.name,
          role: input.role,
          sites,
          secretHash: secret.hash,
          prefix: secret.prefix,
          createdBy: who.actorId,
          expiresAt: input.expiresAt ?? null,
          geofenceExempt: input.geofenceExempt ?? false,
        });
        await appendAudit(trx, [{ who, action: 'create', entity: 'token', entityId: token.id, changes: { name: token.name, role: token.role, sites, expiresAt: token.expiresAt, geofenceExempt: token.geofenceExempt } }]);
        return token;
      });
      return { ...token, token: secret.secret };
    },

    list: (page: PageQuery) => listTokens(db, page),

    /** Idempotent; every node stops accepting it at once, and its sockets are closed. */
    async revoke(id: string, who: Who): Promise<Token> {
      const token = await inTransaction(db, async (trx) => {
        const token = await revokeToken(trx, id);
        if (!token) throw new NotFoundError('token_not_found', `no token with id ${id}`);
        await appendAudit(trx, [{ who, action: 'revoke', entity: 'token', entityId: id }]);
        return token;
      });
      revocations.revoke([{ kind: 'token', id }]);
      return token;
    },
  };
}
