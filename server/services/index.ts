import type { Cache } from '../cache/index.js';
import type { Config } from '../config.js';
import type { Knex } from '../db/knex.js';
import type { LimiterFactory } from '../limits.js';
import type { RepeatLog } from '../logger.js';
import type { Recorder } from '../metrics/index.js';
import type { Revocations } from '../auth/revocations.js';
import type { Publisher } from '../events/publisher.js';
import { createAuditService } from './audit.js';
import { createCheckinService } from './checkins.js';
import { createCredentialService } from './credentials.js';
import { createEmployeeService } from './employees.js';
import { createFeedService } from './feed.js';
import { createHealthService } from './health.js';
import { createImportService } from './imports/index.js';
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
import { createDispatcher } from './webhooks/dispatcher.js';
import { createWebhookService } from './webhooks/index.js';

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
  log: RepeatLog;
  /** What time it is for rules judged at read time (tests set it). */
  clock?: () => Date;
}) {
  const longestShiftMs = deps.config.LONGEST_SHIFT_HOURS * 3600_000;
  const pins = createPinChecker({
    limiter: deps.limiter,
    maxWrong: deps.config.PIN_ATTEMPTS_MAX,
    windowSeconds: deps.config.PIN_ATTEMPTS_WINDOW_SECONDS,
  });
  const ledger = createLedger({ ...deps, longestShiftMs });
  const feed = createFeedService(deps);
  const { config } = deps;
  const webhookDispatch = createDispatcher({
    db: deps.db,
    feed,
    log: deps.log,
    settings: {
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
      disableAfterMs: config.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      pollMs: config.WEBHOOK_POLL_MS,
      // A lease outlives the longest send, so its holder never loses it mid-delivery unless it died.
      leaseMs: config.WEBHOOK_TIMEOUT_MS * 3,
      concurrency: config.WEBHOOK_CONCURRENCY,
      logDays: config.WEBHOOK_DELIVERY_LOG_DAYS,
    },
  });
  return {
    ledger,
    checkins: createCheckinService({ ...deps, ledger, pins }),
    records: createRecordService({ ...deps, ledger }),
    feed,
    webhookDispatch,
    webhooks: createWebhookService({ db: deps.db, timeoutMs: config.WEBHOOK_TIMEOUT_MS, wake: webhookDispatch.changed }),
    presence: createPresenceService({ ...deps, longestShiftMs, clock: deps.clock ?? (() => new Date()) }),
    health: createHealthService(deps),
    reports: createReportService({ ...deps, longestShiftMs }),
    sites: createSiteService(deps),
    schedule: createScheduleService(deps),
    employees: createEmployeeService(deps),
    imports: createImportService(deps),
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
