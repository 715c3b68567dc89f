import Router from '@koa/router';
import type { Context, Next, Middleware } from 'koa';
import { pipeline, Readable } from 'node:stream';
import { Id, LegacyRecordInput } from '../../../shared/schemas.js';
import { AppError, NotFoundError } from '../../errors.js';
import type { HealthService } from '../../services/health.js';
import type { RecordService } from '../../services/records.js';
import { parse } from '../../validate.js';
import { jsonArray } from '../jsonArray.js';

/**
 * The older Attendance API, same paths and response shapes, so its clients keep working. Its bugs
 * are not kept: a second create for a day updates it, unknown ids are 404s, the cache is per id.
 */
const DETAIL_MESSAGES = {
  up: 'Attendance API is running fine and ready to serve requests',
  degraded: 'Attendance API is serving requests without Redis (degraded), please check logs',
  down: 'Attendance API is not healthy, please check logs',
};

export function attendanceRouter(deps: { records: RecordService; health: HealthService; body: Middleware }) {
  const router = new Router({ prefix: '/api/v1/attendance' });

  router.use(async (ctx: Context, next: Next) => {
    ctx.state.renderError = (e: AppError) =>
      ctx.path.endsWith('/create') && e.status < 500
        ? { error: e.status === 400 ? 'Validation Error' : e.message, details: e.details ?? [{ field: '(body)', message: e.message }] }
        : { message: e.message };
    await next();
  });

  router.post('/create', deps.body, async (ctx) => {
    const input = parse(LegacyRecordInput, ctx.request.body);
    await deps.records.create(input);
    ctx.body = { message: `Successfully created the record for the employee id: ${input.id}` };
  });

  router.get('/search', async (ctx) => {
    const id = ctx.query.id;
    if (id === undefined || id === '') throw new AppError(400, 'missing_id', 'Please provide an employee id as ?id=');
    if (!Id.safeParse(id).success) throw new AppError(400, 'invalid_id', 'The id must be a single non-blank value of at most 64 characters');
    const record = await deps.records.latest(id as string);
    if (!record) throw new NotFoundError('record_not_found', `No record found for the employee id: ${id}`);
    ctx.body = record;
  });

  router.get('/search/all', async (ctx) => {
    ctx.type = 'application/json';
    // A database error mid-stream reaches the last stream, where Koa logs it and cuts the response.
    ctx.body = pipeline(Readable.from(deps.records.all()), jsonArray(), () => {});
  });

  router.get('/health', async (ctx) => {
    const up = await deps.health.databaseUp();
    ctx.status = up ? 200 : 503;
    ctx.body = {
      message: up ? 'Attendance API is running fine and ready to serve requests' : 'Attendance API is not healthy, please check logs',
    };
  });

  router.get('/health/detail', async (ctx) => {
    const health = await deps.health.detail();
    ctx.status = health.status === 'down' ? 503 : 200;
    ctx.body = { message: DETAIL_MESSAGES[health.status], ...health };
  });

  return router;
}
