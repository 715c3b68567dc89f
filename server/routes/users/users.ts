import Router from '@koa/router';
import type { Middleware } from 'koa';
import { UserCreate, UserParams, UserUpdate, UuidPageQuery } from '../../../shared/auth.js';
import { authorize, policies } from '../../policies/index.js';
import type { UserService } from '../../services/users.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

/** People who sign in: admins only. */
export function usersRouter(deps: { users: UserService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1/users' });

  router.post('/', deps.body, async (ctx) => {
    const input = parse(UserCreate, ctx.request.body);
    authorize(ctx.state.actor, policies.users, 'manage');
    ctx.body = { data: await deps.users.create(input, ctx.state.who) };
    ctx.status = 201;
  });

  router.get('/', async (ctx) => {
    const page = parse(UuidPageQuery, ctx.query);
    authorize(ctx.state.actor, policies.users, 'manage');
    ctx.body = await deps.users.list(page);
  });

  router.get('/:id', async (ctx) => {
    const { id } = parse(UserParams, ctx.params);
    authorize(ctx.state.actor, policies.users, 'manage');
    ctx.body = { data: await deps.users.get(id) };
  });

  router.patch('/:id', deps.body, async (ctx) => {
    const { id } = parse(UserParams, ctx.params);
    const patch = parse(UserUpdate, ctx.request.body);
    authorize(ctx.state.actor, policies.users, 'manage');
    ctx.body = { data: await deps.users.update(id, patch, ctx.state.who) };
  });

  return router;
}
