import type { Knex } from '../db/knex.js';
import { listEventsAfter, listMatchingEvents, readHead } from '../repositories/events.js';

export type FeedService = ReturnType<typeof createFeedService>;

/** The committed event stream, read back from PostgreSQL: for catching up nodes and replaying to subscribers. */
export function createFeedService(deps: { db: Knex }) {
  const { db } = deps;
  return {
    head: () => readHead(db),
    after: (after: number, limit: number) => listEventsAfter(db, after, limit),
    matching: (q: { after: number; upTo: number; sites?: string[]; employees?: string[]; limit: number }) => listMatchingEvents(db, q),
  };
}
