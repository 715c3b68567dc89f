import Router from '@koa/router';
import type { Middleware } from 'koa';
import { PathParams, SiteCreate, SiteListQuery, SiteUpdate } from '../../../shared/directory.js';
import type { SiteService } from '../../services/sites.js';
import { parse } from '../../validate.js';

export function sitesRouter(deps: { sites: SiteService; body: Middleware }) {
  const router = new Router({ prefix: '/api/v1/sites' });
  const { body } = deps;

  router.post('/', body, async (ctx) => {
    const input = parse(SiteCreate, ctx.request.body);
    ctx.body = { data: await deps.sites.create(input) };
    ctx.status = 201;
  });

  router.get('/', async (ctx) => {
    ctx.body = await deps.sites.list(parse(SiteListQuery, ctx.query));
  });

  router.get('/:id', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await deps.sites.get(id) };
  });

  router.patch('/:id', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const patch = parse(SiteUpdate, ctx.request.body);
    ctx.body = { data: await deps.sites.update(id, patch) };
  });

  router.post('/:id/deactivate', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await deps.sites.deactivate(id) };
  });

  return router;
}
