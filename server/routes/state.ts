import type Router from '@koa/router';
import type { Actor, Who } from '../auth/actor.js';
import type { Presented } from '../auth/authenticate.js';

/** What the auth middleware leaves on every authenticated request; `presented`, for what is checked again later (a long stream). */
export type HubState = { actor: Actor; who: Who; presented: Presented; requestId: string };

export type HubRouter = Router<HubState>;

/** The request's authority for a service: the sites in reach and who it is for the audit log. */
export const authority = (state: HubState) => ({ scope: state.actor.sites, who: state.who });
