import Router from '@koa/router';
import { PresenceQuery } from '../../../shared/schemas.js';
import type { PresenceService } from '../../services/presence.js';
import { parse } from '../../validate.js';

export function presenceRouter(deps: { presence: PresenceService }) {
  const router = new Router({ prefix: '/api/v1/presence' });
  router.get('/', async (ctx) => {
    const { siteId } = parse(PresenceQuery, ctx.query);
    ctx.body = { data: await deps.presence.atSite(siteId) };
  });
  return router;
}
