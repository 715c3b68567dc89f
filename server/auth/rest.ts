import type { Context, Next } from 'koa';
import { SESSION_COOKIE } from '../../shared/auth.js';
import { ForbiddenError } from '../policies/index.js';
import { whoOf, type Actor } from './actor.js';
import { presentedIn, UnauthenticatedError, type Authenticator } from './authenticate.js';

/** The older Attendance API's routes that LEGACY_ANONYMOUS opens (its health routes are public anyway). */
const LEGACY_ROUTES = /^\/api\/v1\/attendance\/(create|search|search\/all)$/;

const LEGACY_ANONYMOUS_ACTOR: Actor = { id: 'anonymous', name: 'older API client (LEGACY_ANONYMOUS)', role: 'admin', sites: 'all', credential: { kind: 'anonymous' }, expiresAt: null };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who is asking, for every route mounted after it: a bearer token or the session cookie, else 401.
 * A browser sends the cookie on its own, from any page that makes it call the hub, so a request that
 * changes something on the cookie's authority must come from the hub's own origin or an allowed one.
 */
export function authenticateRequests(deps: { authenticator: Authenticator; corsOrigins: readonly string[]; legacyAnonymous: boolean }) {
  return async (ctx: Context, next: Next) => {
    const presented = presentedIn(ctx.get('Authorization') || undefined, ctx.cookies.get(SESSION_COOKIE));
    let actor = await deps.authenticator.authenticate(presented);
    if (!actor && deps.legacyAnonymous && presented.bearer === undefined && LEGACY_ROUTES.test(ctx.path)) actor = LEGACY_ANONYMOUS_ACTOR;
    if (!actor) throw new UnauthenticatedError();
    if (presented.bearer === undefined && actor.credential.kind === 'session' && !SAFE_METHODS.has(ctx.method) && !sameOrAllowedOrigin(ctx, deps.corsOrigins)) {
      throw new ForbiddenError('a signed-in change must come from the hub’s own pages or an allowed origin');
    }
    ctx.state.actor = actor;
    ctx.state.presented = presented;
    ctx.state.who = whoOf(actor, ctx.ip || null, ctx.state.requestId ?? null);
    await next();
  };
}

/** The request's Origin (or, without one, its Referer's) is this hub or one of CORS_ORIGINS. */
export function sameOrAllowedOrigin(ctx: Pick<Context, 'get' | 'protocol' | 'host'>, allowed: readonly string[]): boolean {
  const origin = ctx.get('Origin') || originOf(ctx.get('Referer'));
  if (!origin) return false;
  return origin === `${ctx.protocol}://${ctx.host}` || allowed.includes(origin);
}

function originOf(url: string): string | null {
  if (!url || !URL.canParse(url)) return null;
  return new URL(url).origin;
}
