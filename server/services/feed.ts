import type { Knex } from '../db/knex.js';
import { readHead } from '../repositories/events.js';

export type FeedService = ReturnType<typeof createFeedService>;

/** What live subscribers are told about the event stream. */
export function createFeedService(deps: { db: Knex }) {
  return {
    head: () => readHead(deps.db),
  };
}
