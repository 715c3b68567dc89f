import Router from '@koa/router';
import { CheckinInput, CheckinListQuery } from '../../../shared/schemas.js';
import { jsonBody } from '../../middleware/jsonBody.js';
import type { CheckinService } from '../../services/checkins.js';
import { parse } from '../../validate.js';

export function checkinsRouter(deps: { checkins: CheckinService; bodyLimit: number }) {
  const router = new Router({ prefix: '/api/v1/checkins' });

  router.post('/', jsonBody(deps.bodyLimit), async (ctx) => {
    const input = parse(CheckinInput, ctx.request.body);
    const { checkin, created } = await deps.checkins.record(input);
    ctx.status = created ? 201 : 200;
    ctx.body = { data: checkin };
  });

  router.get('/', async (ctx) => {
    const query = parse(CheckinListQuery, ctx.query);
    ctx.body = { data: await deps.checkins.list(query) };
  });

  return router;
}
