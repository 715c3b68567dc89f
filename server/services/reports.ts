import { type DailyReportRow, type SummaryRow, type TimesheetRow } from '../../shared/reports.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { requireReach } from '../policies/index.js';
import { NotFoundError } from '../errors.js';
import { findEmployee, findSite, listPunches, listStatuses, pageDailyEmployees, pageSiteEmployees, type StoredPunch, type ZonedRef } from '../repositories/attendance.js';
import { requireDayRange } from './dayRange.js';
import { atSite, datesBetween, rollup, sessionsOf, type Day, type Sessions } from './attendanceDays.js';
import { loadPlans, type PlannedEmployee, type Plans } from './schedule/plans.js';
import { dayFigures, dayOfSession, scheduledOn, type Schedule } from './schedule/rules.js';

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

/**
 * An employee's days as the API shows them: the sessions' totals and the shift's figures. The older
 * API's record status, where there is one, wins.
 */
function present(all: Sessions, dates: string[], employee: PlannedEmployee, schedule: Schedule | null, plans: Plans, statuses: Map<string, string> | undefined, now: Date): TimesheetRow[] {
  return rollup(all, dates).map((day: Day) => {
    const shift = schedule?.shiftOn(day.date) ?? null;
    const figures = dayFigures({
      shift,
      run: schedule && scheduledOn(schedule, day.date),
      holiday: plans.holiday(employee.siteId, day.date),
      onLeave: plans.onLeave(employee.id, day.date),
      sessions: all.sessions.filter((s) => s.day === day.date),
      now,
    });
    return {
      date: day.date,
      shiftId: shift?.id ?? null,
      firstIn: day.firstIn?.toISOString() ?? null,
      lastOut: day.lastOut?.toISOString() ?? null,
      workedMinutes: figures.workedMinutes,
      sessions: day.sessions,
      scheduledMinutes: figures.scheduledMinutes,
      lateMinutes: figures.lateMinutes,
      earlyExitMinutes: figures.earlyExitMinutes,
      overtimeMinutes: figures.overtimeMinutes,
      status: statuses?.get(day.date) ?? figures.status,
      flags: day.flags,
    };
  });
}

function groupByEmployee(punches: StoredPunch[]): Map<string, StoredPunch[]> {
  const by = new Map<string, StoredPunch[]>();
  for (const p of punches) {
    const list = by.get(p.employeeId);
    if (list) list.push(p);
    else by.set(p.employeeId, [p]);
  }
  return by;
}

/** An employee's days summed: statuses counted (the older API's own words mapped onto them) and minutes added. */
function summarize(employee: { id: string; name: string }, from: string, to: string, days: TimesheetRow[]): SummaryRow {
  const row: SummaryRow = {
    employeeId: employee.id,
    name: employee.name,
    from,
    to,
    daysPresent: 0,
    daysHalf: 0,
    daysAbsent: 0,
    daysLate: 0,
    daysOnLeave: 0,
    daysHoliday: 0,
    workedMinutes: 0,
    lateMinutes: 0,
    overtimeMinutes: 0,
  };
  for (const d of days) {
    const status = d.status.toLowerCase().replace(' ', '_');
    if (status === 'present' || status === 'late') row.daysPresent++;
    else if (status === 'half_day') row.daysHalf++;
    else if (status === 'absent') row.daysAbsent++;
    else if (status === 'on_leave') row.daysOnLeave++;
    else if (status === 'holiday') row.daysHoliday++;
    if (d.lateMinutes > 0 || status === 'late') row.daysLate++;
    row.workedMinutes += d.workedMinutes;
    row.lateMinutes += d.lateMinutes;
    row.overtimeMinutes += d.overtimeMinutes;
  }
  return row;
}

/** Daily attendance and timesheets, computed from the check-ins at read time. */
export function createReportService(deps: { db: Knex; longestShiftMs: number }) {
  const { db, longestShiftMs } = deps;

  // With shifts, a session counts on the day its run started; a check-in outside every run's window, on its own local day.
  const sessions = (punches: StoredPunch[], timeZone: string, now: Date, schedule: Schedule | null) =>
    sessionsOf(punches, { timeZone, longestShiftMs, now, dayOf: schedule ? (at) => dayOfSession(at, schedule) : undefined });

  async function* dailyRows(site: ZonedRef, date: string): AsyncGenerator<DailyReportRow> {
    const { start, end } = punchWindow(date, date, longestShiftMs);
    const now = new Date();
    let after: string | null = null;
    for (;;) {
      const employees = await pageDailyEmployees(db, site, date, after, PAGE_SIZE);
      const ids = employees.map((e) => e.id);
      const [punches, statuses, plans] = await Promise.all([listPunches(db, ids, start, end), listStatuses(db, ids, date, date), loadPlans(db, employees, date, date)]);
      const byEmployee = groupByEmployee(punches);
      for (const e of employees) {
        const schedule = plans.scheduleOf(e);
        const all = sessions(byEmployee.get(e.id) ?? [], site.timeZone, now, schedule);
        // A day split between sites shows on each site's report only the part worked there.
        const here = atSite(all, site.id);
        // One of the site's own who worked that day only at other sites is on their reports, not absent
        // here. Judged from the sessions: with a shift, a session's day is its run's, not its punches'.
        if (rollup(all, [date])[0]!.sessions && !rollup(here, [date])[0]!.sessions) continue;
        const [day] = present(here, [date], e, schedule, plans, statuses.get(e.id), now);
        yield { employeeId: e.id, name: e.name, ...day! };
      }
      if (employees.length < PAGE_SIZE) return;
      after = ids.at(-1)!;
    }
  }

  async function* summaryRows(site: ZonedRef, from: string, to: string): AsyncGenerator<SummaryRow> {
    const { start, end } = punchWindow(from, to, longestShiftMs);
    const dates = datesBetween(from, to);
    const now = new Date();
    let after: string | null = null;
    for (;;) {
      const employees = await pageSiteEmployees(db, site, after, PAGE_SIZE);
      const ids = employees.map((e) => e.id);
      const [punches, statuses, plans] = await Promise.all([listPunches(db, ids, start, end), listStatuses(db, ids, from, to), loadPlans(db, employees, from, to)]);
      const byEmployee = groupByEmployee(punches);
      for (const e of employees) {
        const schedule = plans.scheduleOf(e);
        const days = present(sessions(byEmployee.get(e.id) ?? [], site.timeZone, now, schedule), dates, e, schedule, plans, statuses.get(e.id), now);
        yield summarize(e, from, to, days);
      }
      if (employees.length < PAGE_SIZE) return;
      after = ids.at(-1)!;
    }
  }

  return {
    /** Per active employee of the site, their days from..to summed (the whole of each day, wherever worked). */
    async summary(siteId: string, from: string, to: string): Promise<{ site: ZonedRef; rows: AsyncGenerator<SummaryRow> }> {
      requireDayRange(from, to, 'a summary');
      const site = await findSite(db, siteId);
      if (!site) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
      return { site, rows: summaryRows(site, from, to) };
    },

    /** The daily report of every day from..to (at most a year), one after the other: daily attendance for an export. */
    async dailyRange(siteId: string, from: string, to: string): Promise<{ site: ZonedRef; rows: AsyncGenerator<DailyReportRow> }> {
      requireDayRange(from, to, 'an export');
      const site = await findSite(db, siteId);
      if (!site) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
      async function* rows() {
        for (const date of datesBetween(from, to)) yield* dailyRows(site!, date);
      }
      return { site, rows: rows() };
    },

    /** The site is looked up before any row, so an unknown site is a 404 even for a streamed answer. */
    async daily(siteId: string, date: string): Promise<{ site: ZonedRef; rows: AsyncGenerator<DailyReportRow> }> {
      const site = await findSite(db, siteId);
      if (!site) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
      return { site, rows: dailyRows(site, date) };
    },

    /** One row per date from..to (both included), in the employee's site zone. */
    async timesheet(employeeId: string, from: string, to: string, scope: Scope): Promise<TimesheetRow[]> {
      requireDayRange(from, to, 'a timesheet');
      const employee = await findEmployee(db, employeeId);
      if (!employee) throw new NotFoundError('employee_not_found', `no employee with id ${employeeId}`);
      requireReach(scope, employee.siteId, `employee ${employeeId} is at another site`);
      const { start, end } = punchWindow(from, to, longestShiftMs);
      const [punches, statuses, plans] = await Promise.all([
        listPunches(db, [employeeId], start, end),
        listStatuses(db, [employeeId], from, to),
        loadPlans(db, [employee], from, to),
      ]);
      const now = new Date();
      const schedule = plans.scheduleOf(employee);
      return present(sessions(punches, employee.timeZone, now, schedule), datesBetween(from, to), employee, schedule, plans, statuses.get(employeeId), now);
    },
  };
}
