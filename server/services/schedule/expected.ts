import type { ExpectedEntry } from '../../../shared/schemas.js';
import { localDate } from '../attendanceDays.js';
import type { PlannedEmployee, Plans } from './plans.js';
import { scheduledOn, type Occurrence } from './rules.js';
import { addDays, instantOf } from './wallClock.js';

/**
 * Who a site expects now and has not seen: the rules, pure (no database, no clock: `now` is given).
 * Found in two steps, because the second reads only the check-ins of the people the first found:
 * whose run is going (started, not ended, not on a holiday or leave), then which of them have not
 * arrived (no check-in since the run's window opened, and not in).
 */

const MINUTE_MS = 60_000;

export type Horizon = {
  /** The local dates whose runs can be going, start or end before `until`: the day before now's, now's, the next. */
  dates: [string, string, string];
  /** The start of the day after next: runs of later dates start at or after it, earlier runs have ended. */
  until: Date;
};

export function horizonOf(now: Date, timeZone: string): Horizon {
  const today = localDate(now, timeZone);
  return { dates: [addDays(today, -1), today, addDays(today, 1)], until: instantOf(addDays(today, 2), '00:00', timeZone) };
}

export type Going = { employee: PlannedEmployee & { name: string }; run: Occurrence; shiftName: string };

/**
 * Each employee's run going at `now` (of two that overlap, the one that started last), and the next
 * start of any run to be worked: the list can change then without anyone arriving (it does not when
 * that person came early).
 */
export function runsGoing(employees: ReadonlyArray<PlannedEmployee & { name: string }>, plans: Plans, horizon: Horizon, now: Date): { going: Going[]; nextStart: Date | null } {
  const going: Going[] = [];
  let nextStart: Date | null = null;
  for (const employee of employees) {
    const schedule = plans.scheduleOf(employee);
    if (!schedule) continue;
    let current: Occurrence | null = null;
    for (const date of horizon.dates) {
      const run = scheduledOn(schedule, date);
      if (!run || plans.holiday(employee.siteId, date) || plans.onLeave(employee.id, date)) continue;
      if (run.start > now) {
        if (!nextStart || run.start < nextStart) nextStart = run.start;
      } else if (now < run.end && (!current || run.start > current.start)) current = run;
    }
    if (current) going.push({ employee, run: current, shiftName: plans.shiftName(current.shift.id) });
  }
  return { going, nextStart };
}

/**
 * Of the people whose run is going, those not in: no check-in since their run's window opened
 * (`arrivedAt`: each one's latest, if any) and not in now (checked in before the window and still there).
 * Most late first, then by name.
 */
export function notArrived(going: readonly Going[], arrivedAt: ReadonlyMap<string, Date>, present: ReadonlySet<string>, now: Date): ExpectedEntry[] {
  return going
    .filter(({ employee, run }) => {
      const arrived = arrivedAt.get(employee.id);
      return !present.has(employee.id) && !(arrived && arrived >= run.opens);
    })
    .sort((a, b) => a.run.start.getTime() - b.run.start.getTime() || compare(a.employee.name, b.employee.name) || compare(a.employee.id, b.employee.id))
    .map(({ employee, run, shiftName }) => ({
      employeeId: employee.id,
      name: employee.name,
      shiftId: run.shift.id,
      shiftName,
      opens: run.opens.toISOString(),
      start: run.start.toISOString(),
      end: run.end.toISOString(),
      lateMinutes: Math.floor((now.getTime() - run.start.getTime()) / MINUTE_MS),
    }));
}

/** When the list next changes other than by someone arriving: a run to be worked starts, or a listed one ends; else the horizon. */
export function nextChange(nextStart: Date | null, listed: readonly ExpectedEntry[], horizon: Horizon): Date {
  let at = nextStart && nextStart < horizon.until ? nextStart : horizon.until;
  for (const e of listed) if (Date.parse(e.end) < at.getTime()) at = new Date(e.end);
  return at;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
