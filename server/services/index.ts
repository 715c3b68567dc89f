import type { Cache } from '../cache/index.js';
import type { Knex } from '../db/knex.js';
import type { Publisher } from '../realtime/publisher.js';
import { createCheckinService } from './checkins.js';
import { createFeedService } from './feed.js';
import { createHealthService } from './health.js';
import { createRecordService } from './records.js';

export type Services = ReturnType<typeof createServices>;

/** Every service, wired once from the stores they need. */
export function createServices(deps: { db: Knex; cache: Cache; publisher: Publisher; redisEnabled: boolean }) {
  return {
    checkins: createCheckinService(deps),
    records: createRecordService(deps),
    feed: createFeedService(deps),
    health: createHealthService(deps),
  };
}
