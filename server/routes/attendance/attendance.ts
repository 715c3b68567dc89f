import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { pipeline, Readable } from 'node:stream';
import { Id, LegacyRecordInput } from '../../../shared/schemas.js';
import { AppError, NotFoundError } from '../../errors.js';
import { authorize, policies } from '../../policies/index.js';
import type { HealthService } from '../../services/health.js';
import type { RecordService } from '../../services/records.js';
import { parse } from '../../validate.js';
import { jsonArray } from '../jsonArray.js';
import { authority, type HubState } from '../state.js';

const PREFIX = '/api/v1/attendance';

/** The older API answered errors in its own shapes; its clients keep getting them. */
const olderShapes = async (ctx: Context, next: Next) => {
  ctx.state.renderError = (e: AppError) =>
    ctx.path.endsWith('/create') && e.status < 500
      ? { error: e.status === 400 ? 'Validation Error' : e.message, details: e.details ?? [{ field: '(body)', message: e.message }] }
      : { message: e.message };
  await next();
};

/**
 * The older Attendance API, same paths and response shapes, so its clients keep working. Its bugs
 * are not kept: a second create for a day updates it, unknown ids are 404s, the cache is per id.
 */
export function attendanceRouter(deps: { records: RecordService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: PREFIX });
  router.use(olderShapes);

  router.post('/create', deps.body, async (ctx) => {
    const input = parse(LegacyRecordInput, ctx.request.body);
    authorize(ctx.state.actor, policies.records, 'create');
    await deps.records.create(input, authority(ctx.state));
    ctx.body = { message: `Successfully created the record for the employee id: ${input.id}` };
  });

  router.get('/search', async (ctx) => {
    const id = ctx.query.id;
    if (id === undefined || id === '') throw new AppError(400, 'missing_id', 'Please provide an employee id as ?id=');
    if (!Id.safeParse(id).success) throw new AppError(400, 'invalid_id', 'The id must be a single non-blank value of at most 64 characters');
    authorize(ctx.state.actor, policies.records, 'read');
    const record = await deps.records.latest(id as string, ctx.state.actor.sites);
    if (!record) throw new NotFoundError('record_not_found', `No record found for the employee id: ${id}`);
    ctx.body = record;
  });

  router.get('/search/all', async (ctx) => {
    authorize(ctx.state.actor, policies.records, 'read');
    ctx.type = 'application/json';
    // A database error mid-stream reaches the last stream, where Koa logs it and cuts the response.
    ctx.body = pipeline(Readable.from(deps.records.all(ctx.state.actor.sites)), jsonArray(), () => {});
  });

  return router;
}

const DETAIL_MESSAGES = {
  up: 'Attendance API is running fine and ready to serve requests',
  degraded: 'Attendance API is serving requests without Redis (degraded), please check logs',
  down: 'Attendance API is not healthy, please check logs',
};

/** The older API's health routes: open to anyone (load balancers and probes send no credentials). */
export function healthRouter(deps: { health: HealthService }) {
  const router = new Router({ prefix: PREFIX });
  router.use(olderShapes);

  router.get('/health', async (ctx) => {
    const up = await deps.health.databaseUp();
    ctx.status = up ? 200 : 503;
    ctx.body = { message: up ? DETAIL_MESSAGES.up : DETAIL_MESSAGES.down };
  });

  router.get('/health/detail', async (ctx) => {
    const health = await deps.health.detail();
    ctx.status = health.status === 'down' ? 503 : 200;
    ctx.body = { message: DETAIL_MESSAGES[health.status], ...health };
  });

  return router;
}
