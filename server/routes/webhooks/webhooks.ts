import Router from '@koa/router';
import type { Middleware } from 'koa';
import { DeliveryQuery, RedeliverInput, WebhookCreate, WebhookParams, WebhookUpdate } from '../../../shared/webhooks.js';
import { authorize, policies } from '../../policies/index.js';
import type { WebhookService } from '../../services/webhooks/index.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

/** Webhook endpoints, their deliveries, a test ping and redelivery: admins only. */
export function webhooksRouter(deps: { webhooks: WebhookService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1/webhooks' });
  const { body, webhooks } = deps;
  const admin = (ctx: { state: HubState }) => authorize(ctx.state.actor, policies.webhooks, 'manage');

  router.post('/', body, async (ctx) => {
    const input = parse(WebhookCreate, ctx.request.body);
    admin(ctx);
    ctx.body = { data: await webhooks.create(input, ctx.state.who) };
    ctx.status = 201;
  });

  router.get('/', async (ctx) => {
    admin(ctx);
    ctx.body = { data: await webhooks.list() };
  });

  router.get('/:id', async (ctx) => {
    const { id } = parse(WebhookParams, ctx.params);
    admin(ctx);
    ctx.body = { data: await webhooks.get(id) };
  });

  router.patch('/:id', body, async (ctx) => {
    const { id } = parse(WebhookParams, ctx.params);
    const patch = parse(WebhookUpdate, ctx.request.body);
    admin(ctx);
    ctx.body = { data: await webhooks.update(id, patch, ctx.state.who) };
  });

  router.delete('/:id', async (ctx) => {
    const { id } = parse(WebhookParams, ctx.params);
    admin(ctx);
    ctx.body = { data: await webhooks.remove(id, ctx.state.who) };
  });

  router.post('/:id/ping', async (ctx) => {
    const { id } = parse(WebhookParams, ctx.params);
    admin(ctx);
    ctx.body = { data: await webhooks.ping(id) };
  });

  router.get('/:id/deliveries', async (ctx) => {
    const { id } = parse(WebhookParams, ctx.params);
    const query = parse(DeliveryQuery, ctx.query);
    admin(ctx);
    ctx.body = await webhooks.deliveries(id, query);
  });

  router.post('/:id/redeliver', body, async (ctx) => {
    const { id } = parse(WebhookParams, ctx.params);
    const input = parse(RedeliverInput, ctx.request.body);
    admin(ctx);
    ctx.body = { data: await webhooks.redeliver(id, input, ctx.state.who) };
  });

  return router;
}
