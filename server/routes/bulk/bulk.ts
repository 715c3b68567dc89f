import Router from '@koa/router';
import type { Middleware } from 'koa';
import { AttendanceExportQuery, CheckinExportQuery, ImportQuery } from '../../../shared/bulk.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import type { CheckinService } from '../../services/checkins.js';
import type { ImportService } from '../../services/imports/index.js';
import type { ReportService } from '../../services/reports.js';
import { parse } from '../../validate.js';
import { DAILY_COLUMNS } from '../reports/reports.js';
import { streamRows } from '../rows.js';
import type { HubState } from '../state.js';

const CHECKIN_COLUMNS = ['seq', 'eventId', 'employeeId', 'siteId', 'deviceId', 'type', 'occurredAt', 'recordedAt', 'reason', 'location', 'geofence', 'voided'];

/** Employees in from CSV (all or nothing, with a dry run); check-ins and daily attendance out, streamed. */
export function bulkRouter(deps: { imports: ImportService; checkins: CheckinService; reports: ReportService; csvBody: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1' });

  router.post('/imports/employees', deps.csvBody, async (ctx) => {
    const query = parse(ImportQuery, ctx.query);
    authorize(ctx.state.actor, policies.employees, 'create');
    authorize(ctx.state.actor, policies.employees, 'update');
    ctx.body = { data: await deps.imports.employees(String(ctx.request.body ?? ''), query, ctx.state.who, ctx.state.actor.sites) };
  });

  router.get('/exports/checkins', async (ctx) => {
    const query = parse(CheckinExportQuery, ctx.query);
    const rows = deps.checkins.export(query, scopeOf(ctx.state.actor, policies.checkins, 'list'));
    streamRows(ctx, query.format, rows, CHECKIN_COLUMNS, `checkins-${query.siteId ?? 'all'}-${query.from}-${query.to}.csv`);
  });

  router.get('/exports/attendance', async (ctx) => {
    const query = parse(AttendanceExportQuery, ctx.query);
    authorize(ctx.state.actor, policies.reports, 'read', query.siteId);
    const { site, rows } = await deps.reports.dailyRange(query.siteId, query.from, query.to);
    streamRows(ctx, query.format, rows, DAILY_COLUMNS, `attendance-${site.id}-${query.from}-${query.to}.csv`);
  });

  return router;
}
