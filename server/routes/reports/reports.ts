import Router from '@koa/router';
import { stringify } from 'csv-stringify';
import { pipeline, Readable } from 'node:stream';
import { DailyReportQuery, TimesheetParams, TimesheetQuery, type DailyReportRow } from '../../../shared/reports.js';
import type { ReportService } from '../../services/reports.js';
import { authorize, policies, scopeOf } from '../../policies/index.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';
import { jsonArray } from '../jsonArray.js';

const DAILY_COLUMNS: Array<keyof DailyReportRow> = [
  'employeeId', 'name', 'date', 'shiftId', 'firstIn', 'lastOut', 'workedMinutes', 'sessions',
  'scheduledMinutes', 'lateMinutes', 'earlyExitMinutes', 'overtimeMinutes', 'status', 'flags',
];

export function reportsRouter(deps: { reports: ReportService }) {
  // Prefixed /api/v1, not /reports: the timesheet sits under /employees beside the employees router.
  const router = new Router<HubState>({ prefix: '/api/v1' });

  router.get('/reports/daily', async (ctx) => {
    const query = parse(DailyReportQuery, ctx.query);
    authorize(ctx.state.actor, policies.reports, 'read', query.siteId);
    const { site, rows } = await deps.reports.daily(query.siteId, query.date);
    ctx.vary('Accept');
    const wantsCsv = query.format ? query.format === 'csv' : ctx.accepts('application/json', 'text/csv') === 'text/csv';
    if (!wantsCsv) {
      // Streamed as the CSV is, a page of employees at a time: a large site's report is never held whole.
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = pipeline(Readable.from(rows), jsonArray('data'), () => {});
      return;
    }
    ctx.attachment(`daily-${site.id}-${query.date}.csv`);
    ctx.type = 'text/csv; charset=utf-8';
    // A database error mid-stream reaches the last stream, where Koa logs it and cuts the response.
    ctx.body = pipeline(Readable.from(rows), csv(DAILY_COLUMNS), () => {});
  });

  router.get('/employees/:id/timesheet', async (ctx) => {
    const { id } = parse(TimesheetParams, ctx.params);
    const query = parse(TimesheetQuery, ctx.query);
    ctx.body = { data: await deps.reports.timesheet(id, query.from, query.to, scopeOf(ctx.state.actor, policies.reports, 'read')) };
  });

  return router;
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
