import { localDate } from '../attendanceDays.js';
import { addDays, instantOf, weekdayOf } from './wallClock.js';

/**
 * The day rules for people with shifts, as Frappe HRMS's shift types and Odoo's schedules answer
 * them: which shift occurrence a session belongs to, and a day's scheduled, late, early-exit and
 * overtime minutes and status. Pure: no database, no clock (`now` is given). Minutes are whole
 * minutes, seconds dropped, so a grace of 5 is met at 5:59 and exceeded at 6:00.
 */

export type Shift = {
  id: string;
  /** Local wall times 'HH:MM'; an end at or before the start is on the next day. */
  start: string;
  end: string;
  /** ISO weekdays the shift starts on: 1 = Monday … 7 = Sunday. */
  weekdays: readonly number[];
  breakMinutes: number;
  lateGraceMinutes: number;
  earlyGraceMinutes: number;
  checkInBeforeMinutes: number;
  halfDayBelowMinutes: number | null;
  overtimeAfterMinutes: number;
};

/** A shift from a date, to a date (both included) or for good. */
export type Assignment = { shiftId: string; from: string; to: string | null };

/** One run of a shift: it starts on `date` (local); a check-in counts for it from `opens` until `end`. */
export type Occurrence = { shift: Shift; date: string; start: Date; end: Date; opens: Date };

/** Which shift is assigned on a date (whether or not it runs that weekday), in the employee's zone. */
export type Schedule = { timeZone: string; shiftOn(date: string): Shift | null };

const MINUTE_MS = 60_000;

/** The shift assigned on each date: the assignment covering it (a later `from` wins an overlap). */
export function scheduleOf(timeZone: string, assignments: readonly Assignment[], shifts: ReadonlyMap<string, Shift>): Schedule {
  const sorted = [...assignments].sort((a, b) => (a.from < b.from ? 1 : a.from > b.from ? -1 : 0));
  return {
    timeZone,
    shiftOn(date) {
      const a = sorted.find((x) => x.from <= date && (x.to === null || date <= x.to));
      return (a && shifts.get(a.shiftId)) ?? null;
    },
  };
}

/** The shift's run that starts on `date`, or null when it does not run that weekday. */
export function occurrenceOn(shift: Shift, date: string, timeZone: string): Occurrence | null {
  if (!shift.weekdays.includes(weekdayOf(date))) return null;
  const start = instantOf(date, shift.start, timeZone);
  const end = instantOf(shift.end > shift.start ? date : addDays(date, 1), shift.end, timeZone);
  return { shift, date, start, end, opens: new Date(start.getTime() - shift.checkInBeforeMinutes * MINUTE_MS) };
}

/** The scheduled run starting on a date, if the assigned shift runs that day. */
export function scheduledOn(schedule: Schedule, date: string): Occurrence | null {
  const shift = schedule.shiftOn(date);
  return shift && occurrenceOn(shift, date, schedule.timeZone);
}

/**
 * The run whose window (from `checkInBeforeMinutes` before its start to its end) holds an instant: a
 * check-in at 00:15 on a 22:00–06:00 shift belongs to the run that started the evening before. Where
 * two windows hold it, the run starting nearest to it.
 */
export function occurrenceHolding(at: Date, schedule: Schedule): Occurrence | null {
  const today = localDate(at, schedule.timeZone);
  let best: Occurrence | null = null;
  for (const date of [addDays(today, -1), today, addDays(today, 1)]) {
    const run = scheduledOn(schedule, date);
    if (!run || at < run.opens || at >= run.end) continue;
    if (!best || Math.abs(run.start.getTime() - at.getTime()) < Math.abs(best.start.getTime() - at.getTime())) best = run;
  }
  return best;
}

/** The day a session counts on: its run's start date, else the local date of its check-in. */
export function dayOfSession(checkIn: Date, schedule: Schedule): string {
  return occurrenceHolding(checkIn, schedule)?.date ?? localDate(checkIn, schedule.timeZone);
}

export const DAY_STATUSES = ['present', 'half_day', 'absent', 'on_leave', 'holiday', 'off', 'expected'] as const;
export type DayStatus = (typeof DAY_STATUSES)[number];

export type DayInput = {
  /** The shift assigned on the day (null: no shift, today's rules) and its run that day (null: not scheduled). */
  shift: Shift | null;
  run: Occurrence | null;
  holiday: boolean;
  onLeave: boolean;
  /** The day's sessions in time order; `workedMinutes` between their punches (0 while open). */
  sessions: ReadonlyArray<{ in: Date; out: Date | null; workedMinutes: number }>;
  now: Date;
};

export type DayFigures = {
  scheduledMinutes: number;
  /** Worked, less the part of the shift's break not already taken between sessions. */
  workedMinutes: number;
  lateMinutes: number;
  earlyExitMinutes: number;
  overtimeMinutes: number;
  status: DayStatus;
};

const minutesBetween = (from: Date, to: Date) => Math.floor((to.getTime() - from.getTime()) / MINUTE_MS);

/** A day's figures and status. An older-API record's status, where there is one, is applied by the caller. */
export function dayFigures(day: DayInput): DayFigures {
  const { shift, holiday, sessions } = day;
  const run = holiday ? null : day.run;
  const gross = sessions.reduce((sum, s) => sum + s.workedMinutes, 0);
  let workedMinutes = gross;
  let scheduledMinutes = 0;
  let lateMinutes = 0;
  let earlyExitMinutes = 0;
  if (run) {
    scheduledMinutes = Math.max(0, minutesBetween(run.start, run.end) - run.shift.breakMinutes);
    let gaps = 0;
    for (let i = 1; i < sessions.length; i++) {
      const out = sessions[i - 1]!.out;
      if (out) gaps += minutesBetween(out, sessions[i]!.in);
    }
    if (gross > 0) workedMinutes = Math.max(0, gross - Math.max(0, run.shift.breakMinutes - gaps));
    const first = sessions[0];
    const last = sessions.at(-1);
    if (first) {
      const late = minutesBetween(run.start, first.in);
      if (late > run.shift.lateGraceMinutes) lateMinutes = late;
    }
    if (last?.out) {
      const early = minutesBetween(last.out, run.end);
      if (early > run.shift.earlyGraceMinutes) earlyExitMinutes = early;
    }
  }
  const extra = workedMinutes - scheduledMinutes;
  const overtimeMinutes = shift && extra > shift.overtimeAfterMinutes ? extra : 0;
  return { scheduledMinutes, workedMinutes, lateMinutes, earlyExitMinutes, overtimeMinutes, status: statusOf(day, run, workedMinutes) };
}

function statusOf(day: DayInput, run: Occurrence | null, worked: number): DayStatus {
  if (day.sessions.length) {
    const below = run?.shift.halfDayBelowMinutes;
    const closed = day.sessions.every((s) => s.out);
    return below != null && closed && worked < below ? 'half_day' : 'present';
  }
  if (day.shift && !day.run) return 'off';
  if (day.holiday) return 'holiday';
  if (day.onLeave) return 'on_leave';
  if (run && day.now < run.end) return 'expected';
  return 'absent';
}
