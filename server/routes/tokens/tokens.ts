import Router from '@koa/router';
import type { Middleware } from 'koa';
import { TokenCreate, TokenParams, UuidPageQuery } from '../../../shared/auth.js';
import { authorize, policies } from '../../policies/index.js';
import type { TokenService } from '../../services/tokens.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

/** API tokens for devices and integrations: admins only. */
export function tokensRouter(deps: { tokens: TokenService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1/tokens' });

  router.post('/', deps.body, async (ctx) => {
    const input = parse(TokenCreate, ctx.request.body);
    authorize(ctx.state.actor, policies.tokens, 'manage');
    ctx.body = { data: await deps.tokens.create(input, ctx.state.who) };
    ctx.status = 201;
  });

  router.get('/', async (ctx) => {
    const page = parse(UuidPageQuery, ctx.query);
    authorize(ctx.state.actor, policies.tokens, 'manage');
    ctx.body = await deps.tokens.list(page);
  });

  router.delete('/:id', async (ctx) => {
    const { id } = parse(TokenParams, ctx.params);
    authorize(ctx.state.actor, policies.tokens, 'manage');
    ctx.body = { data: await deps.tokens.revoke(id, ctx.state.who) };
  });

  return router;
}
