import Router from '@koa/router';
import type { Middleware } from 'koa';
import { LoginInput, SESSION_COOKIE, type Me } from '../../../shared/auth.js';
import type { Actor } from '../../auth/actor.js';
import type { SessionService } from '../../services/sessions.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

type CookieSettings = { secure: boolean };

/** Signing in: the one route that needs no credentials but a password. */
export function loginRouter(deps: { sessions: SessionService; body: Middleware; cookie: CookieSettings }) {
  const router = new Router({ prefix: '/api/v1/auth' });
  router.post('/login', deps.body, async (ctx) => {
    const input = parse(LoginInput, ctx.request.body);
    const { secret, expiresAt, user } = await deps.sessions.login(input, { ip: ctx.ip || null, requestId: ctx.state.requestId ?? null });
    // httpOnly: page scripts never see it; SameSite=Strict: other sites' pages never send it.
    ctx.cookies.set(SESSION_COOKIE, secret, { httpOnly: true, sameSite: 'strict', secure: deps.cookie.secure, expires: expiresAt, path: '/', overwrite: true });
    ctx.body = { data: { user, expiresAt: expiresAt.toISOString() } };
  });
  return router;
}

const meOf = (actor: Actor): Me => ({
  id: actor.id,
  name: actor.name,
  role: actor.role,
  sites: actor.sites === 'all' ? 'all' : [...actor.sites].sort(),
  kind: actor.credential.kind,
  expiresAt: actor.expiresAt?.toISOString() ?? null,
});

export function authRouter(deps: { sessions: SessionService; cookie: CookieSettings }) {
  const router = new Router<HubState>({ prefix: '/api/v1/auth' });

  router.get('/me', (ctx) => {
    ctx.body = { data: meOf(ctx.state.actor) };
  });

  /** Ends the session on every node; for a token there is nothing to end (revoke it instead). */
  router.post('/logout', async (ctx) => {
    const { credential } = ctx.state.actor;
    if (credential.kind === 'session') await deps.sessions.logout(credential.id, ctx.state.who);
    ctx.cookies.set(SESSION_COOKIE, null, { httpOnly: true, sameSite: 'strict', secure: deps.cookie.secure, path: '/' });
    ctx.status = 204;
  });

  return router;
}
