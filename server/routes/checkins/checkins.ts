import Router from '@koa/router';
import type { Middleware } from 'koa';
import { CheckinBatchInput, CheckinInput, CheckinListQuery } from '../../../shared/schemas.js';
import { AppError } from '../../errors.js';
import type { CheckinService } from '../../services/checkins.js';
import { parse } from '../../validate.js';

export function checkinsRouter(deps: { checkins: CheckinService; body: Middleware }) {
  const router = new Router({ prefix: '/api/v1/checkins' });

  router.post('/', deps.body, async (ctx) => {
    const input = parse(CheckinInput, ctx.request.body);
    const key = ctx.get('Idempotency-Key');
    if (key.length > 255) throw new AppError(400, 'validation_failed', 'Idempotency-Key is longer than 255 characters');
    const { checkin, created } = await deps.checkins.record(input, key || undefined);
    ctx.status = created ? 201 : 200;
    ctx.body = { data: checkin };
  });

  router.post('/batch', deps.body, async (ctx) => {
    const { punches } = parse(CheckinBatchInput, ctx.request.body);
    ctx.body = { data: await deps.checkins.recordBatch(punches) };
  });

  router.get('/', async (ctx) => {
    const query = parse(CheckinListQuery, ctx.query);
    ctx.body = await deps.checkins.list(query);
  });

  return router;
}
