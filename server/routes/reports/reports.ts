import Router from '@koa/router';
import type { Context } from 'koa';
import { stringify } from 'csv-stringify';
import { pipeline, Readable } from 'node:stream';
import { DailyReportQuery, SummaryQuery, TimesheetParams, TimesheetQuery, type DailyReportRow, type SummaryRow } from '../../../shared/reports.js';
import type { ReportService } from '../../services/reports.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';
import { jsonArray } from '../jsonArray.js';

const DAILY_COLUMNS: Array<keyof DailyReportRow> = [
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
    stream(ctx, query.format, rows, DAILY_COLUMNS, `daily-${site.id}-${query.date}.csv`);
  });

  router.get('/reports/summary', async (ctx) => {
    const query = parse(SummaryQuery, ctx.query);
    authorize(ctx.state.actor, policies.reports, 'read', query.siteId);
    const { site, rows } = await deps.reports.summary(query.siteId, query.from, query.to);
    stream(ctx, query.format, rows, SUMMARY_COLUMNS, `summary-${site.id}-${query.from}-${query.to}.csv`);
  });

  router.get('/employees/:id/timesheet', async (ctx) => {
    const { id } = parse(TimesheetParams, ctx.params);
    const query = parse(TimesheetQuery, ctx.query);
    ctx.body = { data: await deps.reports.timesheet(id, query.from, query.to, scopeOf(ctx.state.actor, policies.reports, 'read')) };
  });

  return router;
}

/**
 * A report's rows as JSON (`{"data":[…]}`) or CSV, by `format` or else the Accept header. Streamed, a
 * page of employees at a time: a large site's report is never held whole. A database error mid-stream
 * reaches the last stream, where Koa logs it and cuts the response.
 */
function stream<R>(ctx: Context, format: 'json' | 'csv' | undefined, rows: AsyncGenerator<R>, columns: string[], filename: string): void {
  ctx.vary('Accept');
  const wantsCsv = format ? format === 'csv' : ctx.accepts('application/json', 'text/csv') === 'text/csv';
  if (!wantsCsv) {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = pipeline(Readable.from(rows), jsonArray('data'), () => {});
    return;
  }
  ctx.attachment(filename);
  ctx.type = 'text/csv; charset=utf-8';
  ctx.body = pipeline(Readable.from(rows), csv(columns), () => {});
}

/**
 * Rows in, RFC 4180 CSV out (CRLF, quoted where needed), with a header row. Flags are joined with
 * ';'. Cells that a spreadsheet would run as a formula (a name starting with '=') get a leading "'".
 */
function csv(columns: string[]) {
  return stringify({
    header: true,
    columns,
    record_delimiter: 'windows',
    escape_formulas: true,
    cast: { object: (value) => (value as unknown as string[]).join(';') },
  });
}
