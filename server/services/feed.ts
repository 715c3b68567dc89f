import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { present, type HubEvent } from '../events/event.js';
import { listEventsAfter, listMatchingEvents, readHead } from '../repositories/events.js';

export type FeedService = ReturnType<typeof createFeedService>;

/**
 * The committed event stream, read back from PostgreSQL: for catching up nodes and replaying to
 * subscribers. Each event goes through the same presenter as a live one.
 */
export function createFeedService(deps: { db: Knex }) {
  const { db } = deps;
  return {
    head: () => readHead(db),
    after: async (after: number, limit: number): Promise<HubEvent[]> => (await listEventsAfter(db, after, limit)).map(present),
    matching: async (q: { after: number; upTo: number; sites?: string[]; employees?: string[]; within: Scope; limit: number }): Promise<HubEvent[]> =>
      (await listMatchingEvents(db, q)).map(present),
  };
}
