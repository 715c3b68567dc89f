import type { Knex } from '../../db/knex.js';
import { assignmentsDuring, leaveDuring, listHolidays, shiftsById } from '../../repositories/schedule.js';
import { addDays } from './wallClock.js';
import { scheduleOf, type Schedule } from './rules.js';

/** Who is planned to work when, for a set of employees and dates: what the day rules read. */
export type Plans = {
  /** The employee's shifts over the dates (null: never assigned one then: today's rules). */
  scheduleOf(employee: PlannedEmployee): Schedule | null;
  holiday(siteId: string | null, date: string): boolean;
  onLeave(employeeId: string, date: string): boolean;
  /** A shift's name, for lists that show it (its id if it is not among the shifts read). */
  shiftName(shiftId: string): string;
};

export type PlannedEmployee = { id: string; siteId: string | null; timeZone: string };

/**
 * One read per kind for a page of employees and from..to: assignments (a day either side, where a
 * night shift's run or an early window reaches), their shifts, the sites' holidays and the leave.
 */
export async function loadPlans(db: Knex, employees: readonly PlannedEmployee[], from: string, to: string): Promise<Plans> {
  const ids = employees.map((e) => e.id);
  const sites = [...new Set(employees.flatMap((e) => (e.siteId ? [e.siteId] : [])))];
  const [assignments, holidays, leave] = await Promise.all([
    assignmentsDuring(db, ids, addDays(from, -1), addDays(to, 1)),
    listHolidays(db, sites, from, to),
    leaveDuring(db, ids, from, to),
  ]);
  const shiftIds = [...new Set([...assignments.values()].flat().map((a) => a.shiftId))];
  const shifts = await shiftsById(db, shiftIds);
  const holidaySet = new Set(holidays.map((h) => `${h.siteId}/${h.date}`));
  return {
    scheduleOf(e) {
      const mine = assignments.get(e.id);
      return mine ? scheduleOf(e.timeZone, mine, shifts) : null;
    },
    holiday: (siteId, date) => siteId !== null && holidaySet.has(`${siteId}/${date}`),
    onLeave: (employeeId, date) => (leave.get(employeeId) ?? []).some((l) => l.from <= date && date <= l.to),
    shiftName: (shiftId) => shifts.get(shiftId)?.name ?? shiftId,
  };
}
