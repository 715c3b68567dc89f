import Router from '@koa/router';
import { PresenceQuery } from '../../../shared/schemas.js';
import { authorize, policies } from '../../policies/index.js';
import type { PresenceService } from '../../services/presence.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

export function presenceRouter(deps: { presence: PresenceService }) {
  const router = new Router<HubState>({ prefix: '/api/v1/presence' });
  router.get('/', async (ctx) => {
    const { siteId } = parse(PresenceQuery, ctx.query);
    authorize(ctx.state.actor, policies.presence, 'read', siteId);
    ctx.body = await deps.presence.overview(siteId);
  });
  return router;
}
