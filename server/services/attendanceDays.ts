import type { AttendanceFlag } from '../../shared/reports.js';

/**
 * Sessions and daily totals from one employee's punches, counted as Odoo's hr_attendance and Frappe
 * HRMS do: an `in` opens a session and the next `out` closes it. A session belongs to the calendar
 * day of its `in`, so a night shift counts on the day it started; worked time is measured between
 * instants, so a shift across a DST change counts the hours really worked. Pure: no database, no clock.
 */
export type Punch = {
  type: 'in' | 'out';
  at: Date;
  /** zone of the punch's site, else `timeZone` below */
  timeZone?: string;
  /** where the punch counts; a session is where its `in` was */
  siteId?: string | null;
};

export type Session = { in: Date; out: Date | null; day: string; siteId: string | null; workedMinutes: number; flags: AttendanceFlag[] };

export type Day = {
  date: string;
  firstIn: Date | null;
  lastOut: Date | null;
  workedMinutes: number;
  sessions: number;
  flags: AttendanceFlag[];
};

export type Sessions = { sessions: Session[]; unmatchedOuts: Array<{ at: Date; day: string; siteId: string | null }> };

/**
 * `now` tells a forgotten check-out from a shift still under way; `dayOf` names the day of a session
 * whose check-in falls in a shift's window (null: the local date of the check-in, as without shifts).
 */
export type SessionOptions = { timeZone: string; longestShiftMs: number; now: Date; dayOf?: (checkIn: Date) => string | null };

/** Pair the punches (sorted by time) into sessions. */
export function sessionsOf(punches: readonly Punch[], opts: SessionOptions): Sessions {
  const result: Sessions = { sessions: [], unmatchedOuts: [] };
  for (let i = 0; i < punches.length; i++) {
    const p = punches[i]!;
    const day = (p.type === 'in' && opts.dayOf?.(p.at)) || localDate(p.at, p.timeZone ?? opts.timeZone);
    const siteId = p.siteId ?? null;
    if (p.type === 'out') {
      result.unmatchedOuts.push({ at: p.at, day, siteId });
      continue;
    }
    const next = punches[i + 1];
    if (next?.type === 'out' && next.at.getTime() - p.at.getTime() <= opts.longestShiftMs) {
      const workedMinutes = Math.round((next.at.getTime() - p.at.getTime()) / 60_000);
      result.sessions.push({ in: p.at, out: next.at, day, siteId, workedMinutes, flags: [] });
      i++;
      continue;
    }
    const underWay = next === undefined && opts.now.getTime() - p.at.getTime() <= opts.longestShiftMs;
    result.sessions.push({ in: p.at, out: null, day, siteId, workedMinutes: 0, flags: [underWay ? 'open' : 'missing_checkout'] });
  }
  return result;
}

/** Only the sessions made, and unmatched check-outs punched, at one site. */
export function atSite({ sessions, unmatchedOuts }: Sessions, siteId: string): Sessions {
  return { sessions: sessions.filter((s) => s.siteId === siteId), unmatchedOuts: unmatchedOuts.filter((o) => o.siteId === siteId) };
}

/** One Day per date asked for (sessions of other days are left out), in the order asked. */
export function rollup({ sessions, unmatchedOuts }: Sessions, dates: readonly string[]): Day[] {
  const days = new Map(dates.map((date) => [date, { date, firstIn: null, lastOut: null, workedMinutes: 0, sessions: 0, flags: [] } as Day]));
  const flag = (day: Day, f: AttendanceFlag) => {
    if (!day.flags.includes(f)) day.flags.push(f);
  };
  for (const s of sessions) {
    const day = days.get(s.day);
    if (!day) continue;
    day.sessions += 1;
    day.workedMinutes += s.workedMinutes;
    if (!day.firstIn || s.in < day.firstIn) day.firstIn = s.in;
    if (s.out && (!day.lastOut || s.out > day.lastOut)) day.lastOut = s.out;
    for (const f of s.flags) flag(day, f);
  }
  for (const out of unmatchedOuts) {
    const day = days.get(out.day);
    if (day) flag(day, 'unmatched_checkout');
  }
  for (const day of days.values()) day.flags.sort();
  return [...days.values()];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (YYYY-MM-DD) of an instant in an IANA time zone. */
export function localDate(at: Date, timeZone: string): string {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day}`;
}

const DAY_MS = 86_400_000;

/** Every date from `from` to `to`, both included. */
export function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) dates.push(new Date(t).toISOString().slice(0, 10));
  return dates;
}

/** How many dates `datesBetween` would give, without listing them. */
export function dayCount(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
}
