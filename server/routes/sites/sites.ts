import Router from '@koa/router';
import type { Middleware } from 'koa';
import { PathParams, SiteCreate, SiteListQuery, SiteUpdate } from '../../../shared/directory.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import type { SiteService } from '../../services/sites.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

export function sitesRouter(deps: { sites: SiteService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1/sites' });
  const { body } = deps;

  router.post('/', body, async (ctx) => {
    const input = parse(SiteCreate, ctx.request.body);
    authorize(ctx.state.actor, policies.sites, 'create');
    ctx.body = { data: await deps.sites.create(input, ctx.state.who) };
    ctx.status = 201;
  });

  router.get('/', async (ctx) => {
    const query = parse(SiteListQuery, ctx.query);
    ctx.body = await deps.sites.list(query, scopeOf(ctx.state.actor, policies.sites, 'list'));
  });

  router.get('/:id', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    authorize(ctx.state.actor, policies.sites, 'read', id);
    ctx.body = { data: await deps.sites.get(id, ctx.state.actor.sites) };
  });

  router.patch('/:id', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const patch = parse(SiteUpdate, ctx.request.body);
    authorize(ctx.state.actor, policies.sites, 'update', id);
    ctx.body = { data: await deps.sites.update(id, patch, ctx.state.who) };
  });

  router.post('/:id/deactivate', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    authorize(ctx.state.actor, policies.sites, 'update', id);
    ctx.body = { data: await deps.sites.deactivate(id, ctx.state.who) };
  });

  return router;
}
