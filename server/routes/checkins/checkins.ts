import Router from '@koa/router';
import type { Middleware } from 'koa';
import { CheckinBatchInput, CheckinHeaders, CheckinInput, CheckinListQuery, CheckinParams, CorrectionInput, VoidInput } from '../../../shared/schemas.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import { puncherOf, type CheckinService } from '../../services/checkins.js';
import { parse } from '../../validate.js';
import { authority, type HubState } from '../state.js';

export function checkinsRouter(deps: { checkins: CheckinService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1/checkins' });
  const puncher = (state: HubState) => puncherOf(state.actor, state.who);

  router.post('/', deps.body, async (ctx) => {
    const input = parse(CheckinInput, ctx.request.body);
    const { 'idempotency-key': key } = parse(CheckinHeaders, ctx.headers);
    authorize(ctx.state.actor, policies.checkins, 'punch');
    const { checkin, created } = await deps.checkins.record(input, puncher(ctx.state), key || undefined);
    ctx.status = created ? 201 : 200;
    ctx.body = { data: checkin };
  });

  router.post('/batch', deps.body, async (ctx) => {
    const { punches } = parse(CheckinBatchInput, ctx.request.body);
    authorize(ctx.state.actor, policies.checkins, 'punch');
    ctx.body = { data: await deps.checkins.recordBatch(punches, puncher(ctx.state)) };
  });

  router.post('/corrections', deps.body, async (ctx) => {
    const input = parse(CorrectionInput, ctx.request.body);
    authorize(ctx.state.actor, policies.checkins, 'correct');
    const { checkin, created } = await deps.checkins.correct(input, authority(ctx.state));
    ctx.status = created ? 201 : 200;
    ctx.body = { data: checkin };
  });

  router.post('/:eventId/void', deps.body, async (ctx) => {
    const { eventId } = parse(CheckinParams, ctx.params);
    const input = parse(VoidInput, ctx.request.body);
    authorize(ctx.state.actor, policies.checkins, 'correct');
    ctx.body = { data: await deps.checkins.void(eventId, input, authority(ctx.state)) };
  });

  router.get('/', async (ctx) => {
    const query = parse(CheckinListQuery, ctx.query);
    ctx.body = await deps.checkins.list(query, scopeOf(ctx.state.actor, policies.checkins, 'list'));
  });

  return router;
}
