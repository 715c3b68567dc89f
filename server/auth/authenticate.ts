import { fingerprint } from '../crypto.js';
import { AppError, UnavailableError } from '../errors.js';
import type { CredentialService } from '../services/credentials.js';
import type { Actor } from './actor.js';
import type { JwtVerifier } from './jwt.js';
import { revokes, type Revocations } from './revocations.js';

/** What a request or socket handshake presented: a bearer token (API token or JWT), or a session cookie. */
export type Presented = { bearer?: string; session?: string };

export class UnauthenticatedError extends AppError {
  constructor(message = 'sign in, or send a valid token as Authorization: Bearer') {
    super(401, 'unauthenticated', message);
  }
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

// Looked-up credentials a node keeps (negative answers too, so a flood of bad tokens costs PostgreSQL
// one query per distinct token per interval, not one per request).
const MAX_CACHED = 10_000;

/** Everyone is an admin: for AUTH_ENABLED=false, which the config allows on loopback only. */
export const NOBODY_CHECKED: Actor = { id: 'anonymous', name: 'anyone (AUTH_ENABLED=false)', role: 'admin', sites: 'all', credential: { kind: 'anonymous' }, expiresAt: null };

/**
 * Presented credentials → the actor, or null. Lookups are kept for `cacheMs` (the hot path of a kiosk
 * sending one check-in after another asks PostgreSQL once per interval); a revocation on any node
 * evicts at once, and an expiry is checked on every use.
 */
export function createAuthenticator(deps: { credentials: CredentialService; jwt: JwtVerifier | null; cacheMs: number; revocations: Revocations; enabled: boolean }) {
  const { credentials, jwt, cacheMs } = deps;
  const cache = new Map<string, { actor: Actor | null; until: number }>();

  deps.revocations.subscribe((revoked) => {
    for (const [key, entry] of cache) if (entry.actor && revokes(revoked, entry.actor.credential)) cache.delete(key);
  });

  async function cached(key: string, look: () => Promise<Actor | null>): Promise<Actor | null> {
    const now = Date.now();
    const hit = cache.get(key);
    const entry = hit && hit.until > now ? hit : { actor: await look(), until: now + cacheMs };
    if (entry !== hit) {
      cache.delete(key);
      cache.set(key, entry);
      if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
    }
    const { actor } = entry;
    return actor && (!actor.expiresAt || actor.expiresAt.getTime() > now) ? actor : null;
  }

  async function bearer(token: string): Promise<Actor | null> {
    if (!jwt?.looksLikeJwt(token)) return cached(`t:${fingerprint(token)}`, () => credentials.byToken(token));
    const result = await jwt.verify(token);
    if (result.actor) return result.actor;
    if (result.reason === 'unavailable') throw new UnavailableError('the sign-on issuer could not be reached to check this token; retry shortly');
    return null;
  }

  return {
    /** A bearer token wins over a cookie; nothing presented, or nothing valid, is null. */
    async authenticate(presented: Presented): Promise<Actor | null> {
      if (!deps.enabled) return NOBODY_CHECKED;
      if (presented.bearer !== undefined) return bearer(presented.bearer);
      if (presented.session !== undefined) return cached(`s:${fingerprint(presented.session)}`, () => credentials.bySession(presented.session!));
      return null;
    },
  };
}

const BEARER = /^Bearer ([\x21-\x7e]{1,4096})$/i;

/**
 * The credentials in an Authorization header and a session cookie value. A header that is there but
 * not a well-formed bearer token is refused outright rather than ignored.
 */
export function presentedIn(authorization: string | undefined, sessionCookie: string | undefined): Presented {
  const presented: Presented = {};
  if (authorization !== undefined && authorization !== '') {
    const match = BEARER.exec(authorization);
    if (!match) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
    presented.bearer = match[1]!;
  }
  if (sessionCookie) presented.session = sessionCookie;
  return presented;
}
