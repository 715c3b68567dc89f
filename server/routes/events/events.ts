import Router from '@koa/router';
import { EventStreamHeaders, EventStreamQuery } from '../../../shared/schemas.js';
import type { Sse } from '../../http/sse.js';
import { authorize, policies } from '../../policies/index.js';
import type { FollowService } from '../../services/follow.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

/** The event stream over Server-Sent Events, for clients that can hold an HTTP connection but not a socket. */
export function eventsRouter(deps: { follow: FollowService; sse: Sse }) {
  const router = new Router<HubState>({ prefix: '/api/v1/events' });
  router.get('/stream', async (ctx) => {
    const { sites, since } = parse(EventStreamQuery, ctx.query);
    const { 'last-event-id': resumed } = parse(EventStreamHeaders, ctx.headers);
    const { actor } = ctx.state;
    authorize(actor, policies.events, 'subscribe', ...(sites ?? []));
    // An EventSource reconnects to the URL it first opened: the id it last got, not that `since`, is where it is.
    await deps.sse.serve(ctx, (reader) => deps.follow.follow({ since: resumed ?? since, sites, within: actor.sites }, reader));
  });
  return router;
}
