import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import helmet from 'koa-helmet';
import type { Authenticator } from './auth/authenticate.js';
import { authenticateRequests } from './auth/rest.js';
import type { Config } from './config.js';
import type { Sse } from './http/sse.js';
import type { LimiterFactory } from './limits.js';
import type { Logger, RepeatLog } from './logger.js';
import type { Recorder } from './metrics/index.js';
import { errorHandler } from './middleware/errors.js';
import { requestBody } from './middleware/body.js';
import { rateLimiters } from './middleware/rateLimit.js';
import { requestId } from './middleware/requestId.js';
import { requestLog } from './middleware/requestLog.js';
import { requestMetrics } from './middleware/requestMetrics.js';
import { attendanceRouter, healthRouter } from './routes/attendance/attendance.js';
import { auditRouter } from './routes/audit/audit.js';
import { authRouter, loginRouter } from './routes/auth/auth.js';
import { bulkRouter } from './routes/bulk/bulk.js';
import { checkinsRouter } from './routes/checkins/checkins.js';
import { docsRouter } from './routes/docs/docs.js';
import { employeesRouter } from './routes/employees/employees.js';
import { eventsRouter } from './routes/events/events.js';
import { probesRouter } from './routes/health/health.js';
import { metricsRouter } from './routes/metrics/metrics.js';
import { pagesRouter } from './routes/pages/pages.js';
import { presenceRouter } from './routes/presence/presence.js';
import { reportsRouter } from './routes/reports/reports.js';
import { scheduleRouter } from './routes/schedule/schedule.js';
import { sitesRouter } from './routes/sites/sites.js';
import type { HubState } from './routes/state.js';
import { tokensRouter } from './routes/tokens/tokens.js';
import { usersRouter } from './routes/users/users.js';
import { webhooksRouter } from './routes/webhooks/webhooks.js';
import type { FollowService } from './services/follow.js';
import type { Services } from './services/index.js';

/**
 * The REST pipeline: request id → log → errors → security headers → CORS → per-IP rate → the open
 * routes (health, sign-in) → who is asking → per-credential rate → everything else. Builds the app;
 * never listens.
 */
export function createApp(deps: {
  config: Config;
  logger: Logger;
  log: RepeatLog;
  services: Services;
  authenticator: Authenticator;
  limiter: LimiterFactory;
  /** The event stream over Server-Sent Events: following the node's stream, and the open responses. */
  events: { follow: FollowService; sse: Sse };
  /** What requests are recorded on, and the scrape /metrics answers (this node's, or a cluster's sum). */
  metrics: { recorder: Recorder; scrape: () => Promise<string>; contentType: string };
}): Koa {
  const { config, logger, log, services } = deps;
  const app = new Koa();
  // Behind TRUST_PROXY reverse proxies, ctx.ip, protocol and host come from their X-Forwarded-* headers.
  app.proxy = config.TRUST_PROXY > 0;
  app.maxIpsCount = config.TRUST_PROXY;
  // Reached only by failures after the response started (a broken stream); the rest go through errorHandler.
  app.on('error', (err: Error & { code?: string }) => {
    // A client that hung up or sent broken HTTP is its own business; its raw bytes (rawPacket) are never logged.
    const clientGone = /^(HPE_|ECONNRESET|EPIPE|ERR_STREAM_PREMATURE_CLOSE)/.test(err.code ?? '');
    if (clientGone) logger.debug({ code: err.code, message: err.message }, 'client went away mid-response');
    else log('error', `response:${err.message}`, { err: { message: err.message, code: err.code, stack: err.stack } }, 'response failed after it started');
  });
  const allowed = new Set(config.CORS_ORIGINS);
  const limits = rateLimiters({
    limiter: deps.limiter,
    limits: { windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS, perToken: config.RATE_LIMIT_PER_TOKEN, perIp: config.RATE_LIMIT_PER_IP },
  });
  app.use(requestId());
  app.use(requestLog(logger));
  app.use(requestMetrics(deps.metrics.recorder));
  app.use(errorHandler(log));
  // An API answers JSON: nothing in it may run, frame or be framed, be sniffed as something else, or
  // tell where its caller came from. (Helmet's headers for documents, old browsers and plugins are
  // left out: each is bytes and work on every answer. HSTS belongs to whatever terminates TLS.)
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      strictTransportSecurity: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  );
  app.use(cors({ origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''), credentials: true, exposeHeaders: ['X-Request-Id', 'Retry-After'] }));
  app.use(limits.ip());

  const bodyLimits = { limitBytes: config.BODY_LIMIT_BYTES, timeoutMs: config.BODY_TIMEOUT_MS };
  const body = requestBody('json', bodyLimits);
  const csvBody = requestBody('csv', bodyLimits);
  const cookie = { secure: config.SESSION_COOKIE_SECURE };
  // Open to anyone: the screens' HTML and assets (with a CSP of their own; the data they fetch is
  // not open), the API's documentation, the health checks, and signing in.
  const open = new Router();
  for (const router of [pagesRouter(), docsRouter(), healthRouter({ health: services.health }), loginRouter({ sessions: services.sessions, body, cookie })]) open.use(router.routes());
  // Probes, and /metrics, which checks its own credential (METRICS_TOKEN, or an admin's).
  open.use(probesRouter({ health: services.health }).routes());
  open.use(metricsRouter({ ...deps.metrics, token: config.METRICS_TOKEN, authenticator: deps.authenticator }).routes());
  app.use(open.routes()).use(open.allowedMethods({ throw: true }));

  app.use(authenticateRequests({ authenticator: deps.authenticator, corsOrigins: config.CORS_ORIGINS, legacyAnonymous: config.LEGACY_ANONYMOUS }));
  app.use(limits.credential());
  // One router over the rest: a request is matched once, not by each feature's router in turn.
  const api = new Router<HubState>();
  for (const router of [
    attendanceRouter({ records: services.records, body }),
    checkinsRouter({ checkins: services.checkins, body }),
    sitesRouter({ sites: services.sites, body }),
    employeesRouter({ employees: services.employees, body }),
    presenceRouter({ presence: services.presence }),
    eventsRouter(deps.events),
    reportsRouter({ reports: services.reports }),
    scheduleRouter({ schedule: services.schedule, body }),
    authRouter({ sessions: services.sessions, cookie }),
    tokensRouter({ tokens: services.tokens, body }),
    usersRouter({ users: services.users, body }),
    webhooksRouter({ webhooks: services.webhooks, body }),
    bulkRouter({ imports: services.imports, checkins: services.checkins, reports: services.reports, csvBody }),
    auditRouter({ audit: services.audit }),
  ])
    api.use(router.routes());
  app.use(api.routes()).use(api.allowedMethods({ throw: true }));
  return app;
}
