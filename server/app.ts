import Router from '@koa/router';
import Koa from 'koa';
import type { Config } from './config.js';
import type { Logger, RepeatLog } from './logger.js';
import { errorHandler } from './middleware/errors.js';
import { jsonBody } from './middleware/jsonBody.js';
import { requestLog } from './middleware/requestLog.js';
import { attendanceRouter } from './routes/attendance/attendance.js';
import { checkinsRouter } from './routes/checkins/checkins.js';
import { employeesRouter } from './routes/employees/employees.js';
import { presenceRouter } from './routes/presence/presence.js';
import { reportsRouter } from './routes/reports/reports.js';
import { sitesRouter } from './routes/sites/sites.js';
import type { Services } from './services/index.js';

/** The REST pipeline: log → errors → routes. Builds the app; never listens. */
export function createApp(deps: { config: Config; logger: Logger; log: RepeatLog; services: Services }): Koa {
  const { config, logger, log, services } = deps;
  const app = new Koa();
  app.proxy = false;
  // Reached only by failures after the response started (a broken stream); the rest go through errorHandler.
  app.on('error', (err: Error & { code?: string }) => {
    // A client that hung up or sent broken HTTP is its own business; its raw bytes (rawPacket) are never logged.
    const clientGone = /^(HPE_|ECONNRESET|EPIPE|ERR_STREAM_PREMATURE_CLOSE)/.test(err.code ?? '');
    if (clientGone) logger.debug({ code: err.code, message: err.message }, 'client went away mid-response');
    else log('error', `response:${err.message}`, { err: { message: err.message, code: err.code, stack: err.stack } }, 'response failed after it started');
  });
  app.use(requestLog(logger));
  app.use(errorHandler(log));
  const body = jsonBody({ limitBytes: config.BODY_LIMIT_BYTES, timeoutMs: config.BODY_TIMEOUT_MS });
  // One router over all routes: a request is matched once, not by each feature's router in turn.
  const api = new Router();
  for (const router of [
    attendanceRouter({ records: services.records, health: services.health, body }),
    checkinsRouter({ checkins: services.checkins, body }),
    sitesRouter({ sites: services.sites, body }),
    employeesRouter({ employees: services.employees, body }),
    presenceRouter({ presence: services.presence }),
    reportsRouter({ reports: services.reports }),
  ])
    api.use(router.routes());
  app.use(api.routes()).use(api.allowedMethods({ throw: true }));
  return app;
}
