import Router from '@koa/router';
import Koa from 'koa';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { errorHandler } from './middleware/errors.js';
import { requestLog } from './middleware/requestLog.js';
import { attendanceRouter } from './routes/attendance/attendance.js';
import { checkinsRouter } from './routes/checkins/checkins.js';
import { employeesRouter } from './routes/employees/employees.js';
import { presenceRouter } from './routes/presence/presence.js';
import { reportsRouter } from './routes/reports/reports.js';
import { sitesRouter } from './routes/sites/sites.js';
import type { Services } from './services/index.js';

/** The REST pipeline: log → errors → routes. Builds the app; never listens. */
export function createApp(deps: { config: Config; logger: Logger; services: Services }): Koa {
  const { config, logger, services } = deps;
  const app = new Koa();
  app.proxy = false;
  // Reached only by failures after the response started (a broken stream); the rest go through errorHandler.
  app.on('error', (err) => logger.error({ err }, 'response failed after it started'));
  app.use(requestLog(logger));
  app.use(errorHandler(logger));
  // One router over all routes: a request is matched once, not by each feature's router in turn.
  const api = new Router();
  for (const router of [
    attendanceRouter({ records: services.records, health: services.health, bodyLimit: config.BODY_LIMIT_BYTES }),
    checkinsRouter({ checkins: services.checkins, bodyLimit: config.BODY_LIMIT_BYTES }),
    sitesRouter({ sites: services.sites, bodyLimit: config.BODY_LIMIT_BYTES }),
    employeesRouter({ employees: services.employees, bodyLimit: config.BODY_LIMIT_BYTES }),
    presenceRouter({ presence: services.presence }),
    reportsRouter({ reports: services.reports }),
  ])
    api.use(router.routes());
  app.use(api.routes()).use(api.allowedMethods({ throw: true }));
  return app;
}
