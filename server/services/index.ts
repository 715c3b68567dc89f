import type { Cache } from '../cache/index.js';
import type { Config } from '../config.js';
import type { Knex } from '../db/knex.js';
import type { LimiterFactory } from '../limits.js';
import type { Recorder } from '../metrics/index.js';
import type { Revocations } from '../auth/revocations.js';
import type { Publisher } from '../events/publisher.js';
import { createAuditService } from './audit.js';
import { createCheckinService } from './checkins.js';
import { createCredentialService } from './credentials.js';
import { createEmployeeService } from './employees.js';
import { createFeedService } from './feed.js';
import { createHealthService } from './health.js';
import { createLedger } from './ledger/index.js';
import { createPinChecker } from './pin.js';
import { createPresenceService } from './presence.js';
import { createRecordService } from './records.js';
import { createReportService } from './reports.js';
import { createScheduleService } from './schedule/index.js';
import { createSessionService } from './sessions.js';
import { createSiteService } from './sites.js';
import { createTokenService } from './tokens.js';
import { createUserService } from './users.js';

export type Services = ReturnType<typeof createServices>;

/** Every service, wired once from the stores they need. */
export function createServices(deps: {
  config: Config;
  db: Knex;
  cache: Cache;
  publisher: Publisher;
  revocations: Revocations;
  redisEnabled: boolean;
  limiter: LimiterFactory;
  metrics: Recorder;
}) {
  const longestShiftMs = deps.config.LONGEST_SHIFT_HOURS * 3600_000;
  const pins = createPinChecker({
    limiter: deps.limiter,
    maxWrong: deps.config.PIN_ATTEMPTS_MAX,
    windowSeconds: deps.config.PIN_ATTEMPTS_WINDOW_SECONDS,
  });
  const ledger = createLedger({ ...deps, longestShiftMs });
  return {
    ledger,
    checkins: createCheckinService({ ...deps, ledger, pins }),
    records: createRecordService({ ...deps, ledger }),
    feed: createFeedService(deps),
    presence: createPresenceService({ ...deps, longestShiftMs }),
    health: createHealthService(deps),
    reports: createReportService({ ...deps, longestShiftMs }),
    sites: createSiteService(deps),
    schedule: createScheduleService(deps),
    employees: createEmployeeService(deps),
    credentials: createCredentialService(deps),
    tokens: createTokenService(deps),
    users: createUserService(deps),
    sessions: createSessionService({
      ...deps,
      sessionHours: deps.config.SESSION_HOURS,
      limits: { perUser: deps.config.LOGIN_FAILURES_PER_USER, perIp: deps.config.LOGIN_FAILURES_PER_IP, windowSeconds: deps.config.LOGIN_WINDOW_SECONDS },
    }),
    audit: createAuditService(deps),
  };
}
