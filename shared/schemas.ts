import { z } from 'zod';

/** Identifiers chosen by callers (employee ids, site ids): short, printable, no surrounding spaces. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\s\u0000-\u001f](?:.*[^\s])?$/, 'must not be blank or have surrounding spaces');

export const CheckinType = z.enum(['in', 'out']);

export const CheckinInput = z.strictObject({
  employeeId: Id,
  type: CheckinType,
  siteId: Id.optional(),
  deviceId: z.string().min(1).max(128).optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  eventId: z.uuid().optional(),
});
export type CheckinInput = z.infer<typeof CheckinInput>;

export const Checkin = z.object({
  seq: z.number().int().positive(),
  eventId: z.uuid(),
  employeeId: Id,
  siteId: Id.nullable(),
  deviceId: z.string().nullable(),
  type: CheckinType,
  occurredAt: z.string(),
  recordedAt: z.string(),
});
export type Checkin = z.infer<typeof Checkin>;

const Limit = z.coerce.number().int().min(1).max(1000);
const Seq = z.coerce.number().int().min(0);

/** Keyset pagination for lists ordered by id: pass the last id of a page as `after` to get the next. */
export const PageQuery = z.strictObject({
  after: Id.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type PageQuery = z.infer<typeof PageQuery>;

/** A page of a list: `next` is the cursor for the following page, null on the last one. */
export type Page<T> = { data: T[]; next: string | null };

export const CheckinListQuery = z.strictObject({
  employeeId: Id.optional(),
  siteId: Id.optional(),
  after: Seq.default(0),
  limit: Limit.default(100),
});
export type CheckinListQuery = z.infer<typeof CheckinListQuery>;

/** The older Attendance API's daily record, field for field. */
export const LegacyRecordInput = z.strictObject({
  id: Id,
  name: z.string().trim().min(1).max(200),
  status: z.string().trim().min(1).max(50),
  date: z.iso.date(),
});
export type LegacyRecordInput = z.infer<typeof LegacyRecordInput>;

export const LegacyRecord = z.object({
  id: z.string(),
  name: z.string().nullable(),
  status: z.string().nullable(),
  date: z.string(),
});
export type LegacyRecord = z.infer<typeof LegacyRecord>;

export const RecordUpdated = LegacyRecord.extend({ seq: z.number().int().positive() });
export type RecordUpdated = z.infer<typeof RecordUpdated>;

export const SubscribeRequest = z.strictObject({
  sites: z.array(Id).max(100).optional(),
  employees: z.array(Id).max(1000).optional(),
});
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export type ErrorBody = { code: string; message: string; details?: unknown };

export type SubscribeAck = { ok: true; seq: number } | { ok: false; error: ErrorBody };
