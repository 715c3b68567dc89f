import Router from '@koa/router';
import type { Middleware } from 'koa';
import { BadgeParams, EmployeeCreate, EmployeeListQuery, EmployeeUpdate, PathParams } from '../../../shared/directory.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import type { EmployeeService } from '../../services/employees.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

export function employeesRouter(deps: { employees: EmployeeService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1' });
  const { body } = deps;

  router.post('/employees', body, async (ctx) => {
    const input = parse(EmployeeCreate, ctx.request.body);
    authorize(ctx.state.actor, policies.employees, 'create');
    ctx.body = { data: await deps.employees.create(input, ctx.state.who, ctx.state.actor.sites) };
    ctx.status = 201;
  });

  router.get('/employees', async (ctx) => {
    const query = parse(EmployeeListQuery, ctx.query);
    ctx.body = await deps.employees.list(query, scopeOf(ctx.state.actor, policies.employees, 'list'));
  });

  router.get('/employees/:id', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await deps.employees.get(id, scopeOf(ctx.state.actor, policies.employees, 'read')) };
  });

  router.patch('/employees/:id', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const patch = parse(EmployeeUpdate, ctx.request.body);
    ctx.body = { data: await deps.employees.update(id, patch, ctx.state.who, scopeOf(ctx.state.actor, policies.employees, 'update')) };
  });

  router.post('/employees/:id/deactivate', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await deps.employees.deactivate(id, ctx.state.who, scopeOf(ctx.state.actor, policies.employees, 'update')) };
  });

  /** A kiosk's look-up before a punch: whose badge, and whether to ask for a PIN. */
  router.get('/badges/:badge', async (ctx) => {
    const { badge } = parse(BadgeParams, ctx.params);
    ctx.body = { data: await deps.employees.byBadge(badge, scopeOf(ctx.state.actor, policies.employees, 'badge')) };
  });

  return router;
}
