import Router from '@koa/router';
import type { Context } from 'koa';
import { timingSafeEqual } from 'node:crypto';
import { SESSION_COOKIE } from '../../../shared/auth.js';
import { presentedIn, UnauthenticatedError, type Authenticator } from '../../auth/authenticate.js';
import { fingerprint } from '../../crypto.js';
import { authorize, policies } from '../../policies/index.js';

/**
 * Prometheus's scrape. With METRICS_TOKEN set, that bearer token and nothing else opens it (a scraper
 * has no session, and needs no power over the hub); without it, any admin credential of the hub. It
 * is never open: a reverse proxy on the same machine would make even a loopback-only hub's metrics
 * public. `scrape` is this node's registry, or a cluster's sum (metrics/cluster.ts).
 */
export function metricsRouter(deps: { scrape: () => Promise<string>; contentType: string; token: string | undefined; authenticator: Authenticator }) {
  const router = new Router();
  // Compared as fingerprints: equal lengths, so the comparison takes the same time whatever is sent.
  const expected = deps.token === undefined ? null : Buffer.from(fingerprint(deps.token), 'hex');

  async function allow(ctx: Context): Promise<void> {
    const presented = presentedIn(ctx.get('Authorization') || undefined, expected ? undefined : ctx.cookies.get(SESSION_COOKIE));
    if (expected) {
      if (presented.bearer === undefined || !timingSafeEqual(Buffer.from(fingerprint(presented.bearer), 'hex'), expected)) {
        throw new UnauthenticatedError('send the metrics token (METRICS_TOKEN) as Authorization: Bearer');
      }
      return;
    }
    const actor = await deps.authenticator.authenticate(presented);
    if (!actor) throw new UnauthenticatedError();
    authorize(actor, policies.metrics, 'read');
  }

  router.get('/metrics', async (ctx) => {
    await allow(ctx);
    const text = await deps.scrape();
    ctx.type = deps.contentType;
    ctx.body = text;
  });

  return router;
}
