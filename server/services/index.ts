import type { Cache } from '../cache/index.js';
import type { Config } from '../config.js';
import type { Knex } from '../db/knex.js';
import type { Publisher } from '../realtime/publisher.js';
import { createCheckinService } from './checkins.js';
import { createEmployeeService } from './employees.js';
import { createFeedService } from './feed.js';
import { createHealthService } from './health.js';
import { createPresenceService } from './presence.js';
import { createRecordService } from './records.js';
import { createReportService } from './reports.js';
import { createSiteService } from './sites.js';

export type Services = ReturnType<typeof createServices>;

/** Every service, wired once from the stores they need. */
export function createServices(deps: { config: Config; db: Knex; cache: Cache; publisher: Publisher; redisEnabled: boolean }) {
  return {
    checkins: createCheckinService({ ...deps, longestShiftMs: deps.config.LONGEST_SHIFT_HOURS * 3600_000 }),
    records: createRecordService(deps),
    feed: createFeedService(deps),
    presence: createPresenceService({ ...deps, longestShiftMs: deps.config.LONGEST_SHIFT_HOURS * 3600_000 }),
    health: createHealthService(deps),
    reports: createReportService({ ...deps, longestShiftMs: deps.config.LONGEST_SHIFT_HOURS * 3600_000 }),
    sites: createSiteService(deps),
    employees: createEmployeeService(deps),
  };
}
