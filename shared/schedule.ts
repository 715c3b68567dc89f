import { z } from 'zod';
import { CalendarDate, Id, NON_EMPTY, Text } from './schemas.js';

/**
 * Shifts, who works them, holidays and leave: what the day rules (server/services/schedule/rules.ts)
 * read to say who was expected, who was late and who was absent.
 */

/** A local wall time: 'HH:MM', 00:00 to 23:59. */
export const WallTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time HH:MM from 00:00 to 23:59');

/** ISO weekdays: 1 = Monday … 7 = Sunday. */
export const Weekdays = z
  .array(z.number().int().min(1).max(7))
  .min(1)
  .max(7)
  .refine((days) => new Set(days).size === days.length, 'must not repeat a weekday');

const Minutes = z.number().int().min(0).max(24 * 60);
const Name = Text(200);
const Timestamp = z.string();

export const Shift = z.object({
  id: Id,
  siteId: Id,
  name: z.string(),
  /** Local wall times in the site's zone; an end at or before the start is on the next day. */
  start: z.string(),
  end: z.string(),
  weekdays: z.array(z.number().int()),
  breakMinutes: z.number().int(),
  lateGraceMinutes: z.number().int(),
  earlyGraceMinutes: z.number().int(),
  checkInBeforeMinutes: z.number().int(),
  halfDayBelowMinutes: z.number().int().nullable(),
  overtimeAfterMinutes: z.number().int(),
  active: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Shift = z.infer<typeof Shift>;

export const ShiftCreate = z.strictObject({
  id: Id,
  name: Name,
  start: WallTime,
  end: WallTime,
  weekdays: Weekdays.default([1, 2, 3, 4, 5]),
  breakMinutes: Minutes.default(0),
  lateGraceMinutes: Minutes.default(0),
  earlyGraceMinutes: Minutes.default(0),
  checkInBeforeMinutes: Minutes.default(60),
  halfDayBelowMinutes: Minutes.nullable().default(null),
  overtimeAfterMinutes: Minutes.default(0),
});
export type ShiftCreate = z.infer<typeof ShiftCreate>;

export const ShiftUpdate = z
  .strictObject({
    name: Name.optional(),
    start: WallTime.optional(),
    end: WallTime.optional(),
    weekdays: Weekdays.optional(),
    breakMinutes: Minutes.optional(),
    lateGraceMinutes: Minutes.optional(),
    earlyGraceMinutes: Minutes.optional(),
    checkInBeforeMinutes: Minutes.optional(),
    halfDayBelowMinutes: Minutes.nullable().optional(),
    overtimeAfterMinutes: Minutes.optional(),
    active: z.boolean().optional(),
  })
  .refine(...NON_EMPTY);
export type ShiftUpdate = z.infer<typeof ShiftUpdate>;

export const SitePathParams = z.object({ id: Id });
export const ShiftPathParams = z.object({ id: Id, shiftId: Id });

/** `to` included; without it the assignment holds until a later one replaces it. */
export const Assignment = z.object({ id: z.string(), employeeId: Id, shiftId: Id, from: z.string(), to: z.string().nullable(), createdAt: Timestamp });
export type Assignment = z.infer<typeof Assignment>;

export const AssignmentCreate = z
  .strictObject({ shiftId: Id, from: CalendarDate, to: CalendarDate.nullable().default(null) })
  .refine((a) => a.to === null || a.from <= a.to, { path: ['to'], message: 'must not be before from' });
export type AssignmentCreate = z.infer<typeof AssignmentCreate>;

export const AssignmentPathParams = z.object({ id: Id, assignmentId: z.string().regex(/^[1-9]\d{0,17}$/, 'must be an assignment id') });

export const Holiday = z.object({ siteId: Id, date: z.string(), name: z.string() });
export type Holiday = z.infer<typeof Holiday>;

export const HolidayCreate = z.strictObject({ date: CalendarDate, name: Name });
export type HolidayCreate = z.infer<typeof HolidayCreate>;

export const HolidayPathParams = z.object({ id: Id, date: CalendarDate });

export const HolidayListQuery = z
  .strictObject({ from: CalendarDate.optional(), to: CalendarDate.optional() })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['to'], message: 'must not be before from' });
export type HolidayListQuery = z.infer<typeof HolidayListQuery>;

export const LEAVE_KINDS = ['vacation', 'sick', 'other'] as const;

export const Leave = z.object({
  id: z.string(),
  employeeId: Id,
  kind: z.enum(LEAVE_KINDS),
  from: z.string(),
  to: z.string(),
  note: z.string().nullable(),
  createdAt: Timestamp,
});
export type Leave = z.infer<typeof Leave>;

export const LeaveCreate = z
  .strictObject({ kind: z.enum(LEAVE_KINDS), from: CalendarDate, to: CalendarDate, note: Text(500).nullable().default(null) })
  .refine((l) => l.from <= l.to, { path: ['to'], message: 'must not be before from' })
  .refine((l) => (Date.parse(l.to) - Date.parse(l.from)) / 86_400_000 < 366, { path: ['to'], message: 'leave spans at most 366 days' });
export type LeaveCreate = z.infer<typeof LeaveCreate>;

export const LeavePathParams = z.object({ id: Id, leaveId: z.string().regex(/^[1-9]\d{0,17}$/, 'must be a leave id') });
