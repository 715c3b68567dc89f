import { z } from 'zod';
import { Badge, Pin } from './directory.js';
import { CalendarDate, Id, Text } from './schemas.js';

/** The columns an employee import may have; `id` is required, the rest may be left out. */
export const EMPLOYEE_IMPORT_COLUMNS = ['id', 'name', 'siteId', 'badge', 'pin', 'active'] as const;
export type EmployeeImportColumn = (typeof EMPLOYEE_IMPORT_COLUMNS)[number];

/** Rows one import may hold: all of them are judged, and written, in one go. */
export const MAX_IMPORT_ROWS = 10_000;

/**
 * One row of the CSV, its empty cells left out: an empty cell leaves that field as it is (for a new
 * employee: unset), so a file can set PINs for some people and leave the others'. `name` is required
 * for a new employee.
 */
export const EmployeeImportRow = z.strictObject({
  id: Id,
  name: Text(200).optional(),
  siteId: Id.optional(),
  badge: Badge.optional(),
  pin: Pin.optional(),
  active: z.enum(['true', 'false']).optional(),
});
export type EmployeeImportRow = z.infer<typeof EmployeeImportRow>;

export const ImportQuery = z.strictObject({ dryRun: z.stringbool().default(false) });

/** What is wrong with one row (its line in the file, the header being line 1), and where. */
export const ImportProblem = z.object({ line: z.number().int(), id: z.string().nullable(), column: z.string().nullable(), code: z.string(), message: z.string() });
export type ImportProblem = z.infer<typeof ImportProblem>;

/** An import that had no problem: what it did (or, in a dry run, would do). */
export const ImportResult = z.object({
  dryRun: z.boolean(),
  rows: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
});
export type ImportResult = z.infer<typeof ImportResult>;

/** A range of calendar days (both included, at most a year) at a site, or every site in reach. */
const Range = {
  from: CalendarDate,
  to: CalendarDate,
  format: z.enum(['json', 'csv']).optional(),
};
const ordered = (q: { from: string; to: string }) => q.from <= q.to;
const ORDERED = { path: ['to'], message: 'must not be before from' };

/** Check-ins whose site-local date (their employee's site's, or UTC, without one) falls in from..to. */
export const CheckinExportQuery = z.strictObject({ siteId: Id.optional(), ...Range }).refine(ordered, ORDERED);
export type CheckinExportQuery = z.infer<typeof CheckinExportQuery>;

/** The daily report of every day from..to, one after the other. */
export const AttendanceExportQuery = z.strictObject({ siteId: Id, ...Range }).refine(ordered, ORDERED);
export type AttendanceExportQuery = z.infer<typeof AttendanceExportQuery>;

