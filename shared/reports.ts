import { z } from 'zod';
import { CalendarDate, Id } from './schemas.js';

/** A timesheet spans at most a leap year of days; longer ranges are 400 range_too_large. */
export const MAX_TIMESHEET_DAYS = 366;

/**
 * missing_checkout: an `in` with no `out` within the longest shift (not counted);
 * open: an `in` still within the longest shift with no `out` yet (not counted yet);
 * unmatched_checkout: an `out` with no open `in` (ignored).
 */
export const AttendanceFlag = z.enum(['missing_checkout', 'open', 'unmatched_checkout']);
export type AttendanceFlag = z.infer<typeof AttendanceFlag>;

export const DailyReportQuery = z.strictObject({
  siteId: Id,
  date: CalendarDate,
  format: z.enum(['json', 'csv']).optional(),
});
export type DailyReportQuery = z.infer<typeof DailyReportQuery>;

export const TimesheetParams = z.strictObject({ id: Id });

export const SummaryQuery = z
  .strictObject({ siteId: Id, from: CalendarDate, to: CalendarDate, format: z.enum(['json', 'csv']).optional() })
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'must not be before from' });
export type SummaryQuery = z.infer<typeof SummaryQuery>;

export const TimesheetQuery = z
  .strictObject({ from: CalendarDate, to: CalendarDate })
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'must not be before from' });
export type TimesheetQuery = z.infer<typeof TimesheetQuery>;

/**
 * present · half_day (worked below the shift's threshold) · absent (expected, no session, no leave,
 * not a holiday) · on_leave · holiday · off (the shift does not run that day) · expected (the shift
 * has not ended yet and nobody came so far).
 */
export const DayStatus = z.enum(['present', 'half_day', 'absent', 'on_leave', 'holiday', 'off', 'expected']);
export type DayStatus = z.infer<typeof DayStatus>;

/**
 * One employee's day. Instants are ISO 8601 UTC; `date` is the calendar day in the site's zone, or,
 * for a session in a shift's window, the day that run of the shift started. Minutes are whole.
 */
export const TimesheetRow = z.object({
  date: z.string(),
  /** The shift assigned that day, whether or not it runs that weekday. */
  shiftId: z.string().nullable(),
  firstIn: z.string().nullable(),
  lastOut: z.string().nullable(),
  /** Between punches, less the part of the shift's break not taken between sessions. */
  workedMinutes: z.number().int(),
  sessions: z.number().int(),
  scheduledMinutes: z.number().int(),
  lateMinutes: z.number().int(),
  earlyExitMinutes: z.number().int(),
  overtimeMinutes: z.number().int(),
  /** The older API's record status for the date where there is one (any text it holds), else a DayStatus. */
  status: z.string(),
  flags: z.array(AttendanceFlag),
});
export type TimesheetRow = z.infer<typeof TimesheetRow>;

export const DailyReportRow = TimesheetRow.extend({ employeeId: z.string(), name: z.string() });
export type DailyReportRow = z.infer<typeof DailyReportRow>;

/**
 * One employee's range, what payroll imports: days by status (an older-API record's "late" counts as
 * present and late, its "on leave" as on leave), days late (late beyond the grace, or so recorded), and
 * the minutes worked, late and over time, summed over the range's days.
 */
export const SummaryRow = z.object({
  employeeId: z.string(),
  name: z.string(),
  from: z.string(),
  to: z.string(),
  daysPresent: z.number().int(),
  daysHalf: z.number().int(),
  daysAbsent: z.number().int(),
  daysLate: z.number().int(),
  daysOnLeave: z.number().int(),
  daysHoliday: z.number().int(),
  workedMinutes: z.number().int(),
  lateMinutes: z.number().int(),
  overtimeMinutes: z.number().int(),
});
export type SummaryRow = z.infer<typeof SummaryRow>;
