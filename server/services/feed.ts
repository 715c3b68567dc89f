import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { SincePrunedError } from '../errors.js';
import { present, type HubEvent } from '../events/event.js';
import { listEventsAfter, listMatchingEvents, readHead, type KeptEvents } from '../repositories/events.js';

export type FeedService = ReturnType<typeof createFeedService>;

/** A page after `after` is whole only if nothing after `after` was pruned (read in the page's own snapshot). */
function kept(after: number, page: KeptEvents): HubEvent[] {
  if (page.prunedThrough > after) throw new SincePrunedError(after, page.prunedThrough);
  return page.events.map(present);
}

/**
 * The committed event stream, read back from PostgreSQL: for catching up nodes and replaying to
 * subscribers. Each event goes through the same presenter as a live one. A read from a seq older
 * than what is kept (EVENT_RETENTION_DAYS) throws SincePrunedError rather than answer with a hole.
 */
export function createFeedService(deps: { db: Knex }) {
  const { db } = deps;
  return {
    head: () => readHead(db),
    after: async (after: number, limit: number): Promise<HubEvent[]> => kept(after, await listEventsAfter(db, after, limit)),
    matching: async (q: { after: number; upTo: number; sites?: string[]; employees?: string[]; within: Scope; limit: number }): Promise<HubEvent[]> =>
      kept(q.after, await listMatchingEvents(db, q)),
  };
}
