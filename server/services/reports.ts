import { MAX_TIMESHEET_DAYS, type DailyReportRow, type TimesheetRow } from '../../shared/reports.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { requireReach } from '../policies/index.js';
import { AppError, NotFoundError } from '../errors.js';
import { findEmployee, findSite, listPunches, listStatuses, pageDailyEmployees, type StoredPunch, type ZonedRef } from '../repositories/attendance.js';
import { atSite, datesBetween, dayCount, rollup, sessionsOf, type Day, type Sessions } from './attendanceDays.js';

export type ReportService = ReturnType<typeof createReportService>;

const HOUR_MS = 3_600_000;
/** Employees per query in a daily report: bounds each read however large the site. */
const PAGE_SIZE = 500;

/**
 * The instants whose punches can decide the days from..to. A punch made at another site may be in
 * another zone than the report's, and any zone's day D lies within [D 00:00Z − 14 h, D+1 00:00Z + 12 h]
 * (UTC+14 … UTC−12). One longest shift more on each side finds each `in`'s `out` and each `out`'s `in`.
 */
function punchWindow(from: string, to: string, longestShiftMs: number) {
  return {
    start: new Date(Date.parse(from) - 14 * HOUR_MS - longestShiftMs),
    end: new Date(Date.parse(to) + 36 * HOUR_MS + longestShiftMs),
  };
}

/** A day as the API shows it; the older API's record status, where there is one, wins. */
function present(day: Day, recordStatus: string | undefined): TimesheetRow {
  return {
    date: day.date,
    firstIn: day.firstIn?.toISOString() ?? null,
    lastOut: day.lastOut?.toISOString() ?? null,
    workedMinutes: day.workedMinutes,
    sessions: day.sessions,
    status: recordStatus ?? (day.sessions ? 'present' : 'absent'),
    flags: day.flags,
  };
}

/** Daily attendance and timesheets, computed from the check-ins at read time. */
export function createReportService(deps: { db: Knex; longestShiftMs: number }) {
  const { db, longestShiftMs } = deps;

  const sessions = (punches: StoredPunch[], timeZone: string, now: Date) => sessionsOf(punches, { timeZone, longestShiftMs, now });
  const days = (all: Sessions, dates: string[], statuses: Map<string, string> | undefined) =>
    rollup(all, dates).map((day) => present(day, statuses?.get(day.date)));

  async function* dailyRows(site: ZonedRef, date: string): AsyncGenerator<DailyReportRow> {
    const { start, end } = punchWindow(date, date, longestShiftMs);
    const now = new Date();
    let after: string | null = null;
    for (;;) {
      const employees = await pageDailyEmployees(db, site, date, after, PAGE_SIZE);
      const ids = employees.map((e) => e.id);
      const [punches, statuses] = await Promise.all([listPunches(db, ids, start, end), listStatuses(db, ids, date, date)]);
      const byEmployee = new Map<string, StoredPunch[]>();
      for (const p of punches) {
        const list = byEmployee.get(p.employeeId);
        if (list) list.push(p);
        else byEmployee.set(p.employeeId, [p]);
      }
      for (const e of employees) {
        const all = sessions(byEmployee.get(e.id) ?? [], site.timeZone, now);
        // One of the site's own who worked that day only at other sites is on their reports, not absent here.
        if (!e.workedHere && rollup(all, [date])[0]!.sessions) continue;
        // A day split between sites shows on each site's report only the part worked there.
        const [day] = days(atSite(all, site.id), [date], statuses.get(e.id));
        yield { employeeId: e.id, name: e.name, ...day! };
      }
      if (employees.length < PAGE_SIZE) return;
      after = ids.at(-1)!;
    }
  }

  return {
    /** The site is looked up before any row, so an unknown site is a 404 even for a streamed answer. */
    async daily(siteId: string, date: string): Promise<{ site: ZonedRef; rows: AsyncGenerator<DailyReportRow> }> {
      const site = await findSite(db, siteId);
      if (!site) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
      return { site, rows: dailyRows(site, date) };
    },

    /** One row per date from..to (both included), in the employee's site zone. */
    async timesheet(employeeId: string, from: string, to: string, scope: Scope): Promise<TimesheetRow[]> {
      if (dayCount(from, to) > MAX_TIMESHEET_DAYS) {
        throw new AppError(400, 'range_too_large', `a timesheet covers at most ${MAX_TIMESHEET_DAYS} days`);
      }
      const employee = await findEmployee(db, employeeId);
      if (!employee) throw new NotFoundError('employee_not_found', `no employee with id ${employeeId}`);
      requireReach(scope, employee.siteId, `employee ${employeeId} is at another site`);
      const { start, end } = punchWindow(from, to, longestShiftMs);
      const [punches, statuses] = await Promise.all([listPunches(db, [employeeId], start, end), listStatuses(db, [employeeId], from, to)]);
      return days(sessions(punches, employee.timeZone, new Date()), datesBetween(from, to), statuses.get(employeeId));
    },
  };
}
