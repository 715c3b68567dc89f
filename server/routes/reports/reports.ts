import Router from '@koa/router';
import { DailyReportQuery, SummaryQuery, TimesheetParams, TimesheetQuery, type DailyReportRow, type SummaryRow } from '../../../shared/reports.js';
import type { ReportService } from '../../services/reports.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';
import { streamRows } from '../rows.js';

export const DAILY_COLUMNS: Array<keyof DailyReportRow> = [
  'employeeId', 'name', 'date', 'shiftId', 'firstIn', 'lastOut', 'workedMinutes', 'sessions',
  'scheduledMinutes', 'lateMinutes', 'earlyExitMinutes', 'overtimeMinutes', 'status', 'flags',
];

const SUMMARY_COLUMNS: Array<keyof SummaryRow> = [
  'employeeId', 'name', 'from', 'to', 'daysPresent', 'daysHalf', 'daysAbsent', 'daysLate', 'daysOnLeave', 'daysHoliday',
  'workedMinutes', 'lateMinutes', 'overtimeMinutes',
];

export function reportsRouter(deps: { reports: ReportService }) {
  // Prefixed /api/v1, not /reports: the timesheet sits under /employees beside the employees router.
  const router = new Router<HubState>({ prefix: '/api/v1' });

  router.get('/reports/daily', async (ctx) => {
    const query = parse(DailyReportQuery, ctx.query);
    authorize(ctx.state.actor, policies.reports, 'read', query.siteId);
    const { site, rows } = await deps.reports.daily(query.siteId, query.date);
    streamRows(ctx, query.format, rows, DAILY_COLUMNS, `daily-${site.id}-${query.date}.csv`);
  });

  router.get('/reports/summary', async (ctx) => {
    const query = parse(SummaryQuery, ctx.query);
    authorize(ctx.state.actor, policies.reports, 'read', query.siteId);
    const { site, rows } = await deps.reports.summary(query.siteId, query.from, query.to);
    streamRows(ctx, query.format, rows, SUMMARY_COLUMNS, `summary-${site.id}-${query.from}-${query.to}.csv`);
  });

  router.get('/employees/:id/timesheet', async (ctx) => {
    const { id } = parse(TimesheetParams, ctx.params);
    const query = parse(TimesheetQuery, ctx.query);
    ctx.body = { data: await deps.reports.timesheet(id, query.from, query.to, scopeOf(ctx.state.actor, policies.reports, 'read')) };
  });

  return router;
}
