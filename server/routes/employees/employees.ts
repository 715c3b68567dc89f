import Router from '@koa/router';
import type { Middleware } from 'koa';
import { EmployeeCreate, EmployeeListQuery, EmployeeUpdate, PathParams } from '../../../shared/directory.js';
import type { EmployeeService } from '../../services/employees.js';
import { parse } from '../../validate.js';

export function employeesRouter(deps: { employees: EmployeeService; body: Middleware }) {
  const router = new Router({ prefix: '/api/v1/employees' });
  const { body } = deps;

  router.post('/', body, async (ctx) => {
    const input = parse(EmployeeCreate, ctx.request.body);
    ctx.body = { data: await deps.employees.create(input) };
    ctx.status = 201;
  });

  router.get('/', async (ctx) => {
    ctx.body = await deps.employees.list(parse(EmployeeListQuery, ctx.query));
  });

  router.get('/:id', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await deps.employees.get(id) };
  });

  router.patch('/:id', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const patch = parse(EmployeeUpdate, ctx.request.body);
    ctx.body = { data: await deps.employees.update(id, patch) };
  });

  router.post('/:id/deactivate', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await deps.employees.deactivate(id) };
  });

  return router;
}
