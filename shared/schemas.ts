import { z } from 'zod';

/**
 * An identifier chosen by callers (employee, site, badge, device): printable, no surrounding spaces,
 * and no Unicode control, format (bidi overrides, zero-width), surrogate, private-use or unassigned
 * characters, nor line breaks. So an id looks like what it is, and is stored exactly as sent.
 */
const SafeId = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(
      /^[^\p{C}\p{Z}](?:[^\p{C}\p{Zl}\p{Zp}]*[^\p{C}\p{Z}])?$/u,
      'must be printable: no surrounding spaces, control, format (bidi, zero-width) or unpaired surrogate characters',
    );

/** Identifiers of employees, sites and badges: up to 64 characters of the safe set above. */
export const Id = SafeId(64);

/** A kiosk's device id: the same safe set, up to 128 characters. */
export const DeviceId = SafeId(128);

/**
 * Free text (names, statuses), trimmed. No control characters (PostgreSQL text cannot hold NUL, and
 * no such text needs them) and no unpaired UTF-16 surrogates (neither PostgreSQL nor JSON holds one
 * as sent).
 */
export const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\p{Cs}]*$/u, 'must not contain control characters or unpaired surrogates');

/**
 * A calendar day the hub stores or reports on. PostgreSQL has no year 0, and a site's time zone moves
 * a day's bounds by up to 14 hours, so the range stops well short of both ends of what it can hold.
 */
export const CalendarDate = z.iso
  .date()
  .refine((d) => d >= '1900-01-01' && d <= '2999-12-31', 'must be between 1900-01-01 and 2999-12-31');

/** An instant with an explicit UTC offset, from 1900 on (how far ahead is the service's rule). */
export const Instant = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) >= Date.UTC(1900, 0, 1), 'must not be before 1900-01-01T00:00:00Z');

export const CheckinType = z.enum(['in', 'out']);

/** What a kiosk may ask for: `toggle` lets the hub decide from the employee's state. */
export const PunchType = z.enum(['in', 'out', 'toggle']);

/** Where a punch was made, as a phone or tablet reports it: WGS 84 degrees, and how sure it is in metres. */
export const Location = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  accuracyMeters: z.number().min(0).max(100_000).default(0),
});
export type Location = z.infer<typeof Location>;

/** Where a punch stood against its site's geofence: judged only at a site with one (and not for exempt kiosks). */
export const GeofenceResult = z.enum(['inside', 'outside', 'unknown']);

export const CheckinInput = z
  .strictObject({
    employeeId: Id.optional(),
    badge: Id.optional(),
    pin: z.string().regex(/^\d{4,12}$/, 'must be 4 to 12 digits').optional(),
    type: PunchType,
    siteId: Id.optional(),
    deviceId: DeviceId.optional(),
    occurredAt: Instant.optional(),
    eventId: z.uuid().optional(),
    location: Location.optional(),
  })
  .refine((v) => (v.employeeId === undefined) !== (v.badge === undefined), {
    message: 'give exactly one of employeeId or badge',
    path: ['employeeId'],
  });
export type CheckinInput = z.infer<typeof CheckinInput>;

export const MAX_BATCH_PUNCHES = 1000;

/** Offline kiosk sync: items are validated one by one, so one bad punch does not sink the rest. */
export const CheckinBatchInput = z.strictObject({
  punches: z
    .array(z.unknown().meta({ description: 'A punch: the body of POST /api/v1/checkins (CheckinInput). A bad one is rejected on its own.' }))
    .min(1)
    .max(MAX_BATCH_PUNCHES),
});

/** A check-in's `Idempotency-Key` header: a retry with the same key answers the stored check-in. */
export const CheckinHeaders = z.object({ 'idempotency-key': z.string().max(255).optional() });

/** A voided check-in stays, marked: by the checkin.voided event of `seq`, who (an actor id) and why. */
export const Voided = z.object({ seq: z.number().int().positive(), at: z.string(), by: z.string().nullable(), reason: z.string() });
export type Voided = z.infer<typeof Voided>;

export const Checkin = z.object({
  seq: z.number().int().positive(),
  eventId: z.uuid(),
  employeeId: Id,
  siteId: Id.nullable(),
  deviceId: z.string().nullable(),
  type: CheckinType,
  occurredAt: z.string(),
  recordedAt: z.string(),
  /** Why a manager added this punch on the employee's behalf (a correction); absent on punches people made. */
  reason: z.string().optional(),
  location: Location.optional(),
  geofence: GeofenceResult.optional(),
  /** Present once the check-in was voided; rules, presence and reports leave it out. */
  voided: Voided.optional(),
});
export type Checkin = z.infer<typeof Checkin>;

/** A manager's punch on an employee's behalf (a forgotten check-out): whose, when, and why. */
export const CorrectionInput = z.strictObject({
  employeeId: Id,
  type: CheckinType,
  occurredAt: Instant,
  siteId: Id.optional(),
  reason: Text(500),
  eventId: z.uuid().optional(),
});
export type CorrectionInput = z.infer<typeof CorrectionInput>;

/** Voiding a check-in: it stays, marked, with who and why. */
export const VoidInput = z.strictObject({ reason: Text(500) });
export type VoidInput = z.infer<typeof VoidInput>;

export const CheckinParams = z.object({ eventId: z.uuid() });

/**
 * The one error envelope, `{"error":{code,message,details?}}`, of REST answers, batch items and socket
 * acks alike; the `details` of `validation_failed` are a FieldIssue per wrong field.
 */
export const ErrorBody = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });
export type ErrorBody = z.infer<typeof ErrorBody>;
export const ErrorResponse = z.object({ error: ErrorBody });
export const FieldIssue = z.object({ field: z.string(), message: z.string() });
export type FieldIssue = z.infer<typeof FieldIssue>;

/** One punch of a batch: stored, a duplicate of a stored one (that check-in), or rejected (why). */
export const BatchItemResult = z.object({
  eventId: z.string().nullable(),
  status: z.enum(['created', 'duplicate', 'rejected']),
  data: Checkin.optional(),
  error: ErrorBody.optional(),
});
export type BatchItemResult = z.infer<typeof BatchItemResult>;

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
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), next: z.string().nullable() });

/** A PATCH must change something: an empty body is more likely a client bug than a request. Use as `.refine(...NON_EMPTY)`. */
export const NON_EMPTY = [(o: object) => Object.keys(o).length > 0, 'send at least one field to change'] as const;

/** Every answer but a list's and the older API's: the thing itself under `data`. */
export const dataOf = <T extends z.ZodType>(item: T) => z.object({ data: item });

/** Check-ins in seq order, paged by seq; `from` (included) and `to` (left out) bound occurredAt. */
export const CheckinListQuery = z
  .strictObject({
    employeeId: Id.optional(),
    siteId: Id.optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    after: Seq.default(0),
    limit: Limit.default(100),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['to'] });
export type CheckinListQuery = z.infer<typeof CheckinListQuery>;

export const PresenceQuery = z.strictObject({ siteId: Id });

/** Someone checked in at a site right now, since when (the check-in's occurredAt). */
export const PresenceEntry = z.object({ employeeId: Id, name: z.string(), since: z.string(), seq: z.number().int() });
export type PresenceEntry = z.infer<typeof PresenceEntry>;

/**
 * Someone whose shift at the site has started and has not arrived: the run (from `opens`, when a
 * check-in starts to count for it, to `end`) and how late they are, in whole minutes since `start`.
 */
export const ExpectedEntry = z.object({
  employeeId: Id,
  name: z.string(),
  shiftId: Id,
  shiftName: z.string(),
  opens: z.string(),
  start: z.string(),
  end: z.string(),
  lateMinutes: z.number().int().min(0),
});
export type ExpectedEntry = z.infer<typeof ExpectedEntry>;

/**
 * Who is expected and not in, as of `asOf` (the hub's clock) with every event up to `seq` in it.
 * `changesAt`: the next instant the list can change other than by someone arriving (a run starts, a
 * listed one ends, or at the latest the start of the day after next): ask again then, not before.
 */
export const Expected = z.object({ asOf: z.string(), seq: z.number().int().min(0), changesAt: z.string(), entries: z.array(ExpectedEntry) });
export type Expected = z.infer<typeof Expected>;

/** GET /api/v1/presence: who is in, and who is expected and not in. */
export const PresenceAnswer = z.object({ data: z.array(PresenceEntry), expected: Expected });
export type PresenceAnswer = z.infer<typeof PresenceAnswer>;

/** The older Attendance API's daily record, field for field. */
export const LegacyRecordInput = z.strictObject({
  id: Id,
  name: Text(200),
  status: Text(50),
  date: CalendarDate,
});
export type LegacyRecordInput = z.infer<typeof LegacyRecordInput>;

export const LegacyRecord = z.object({
  id: z.string(),
  name: z.string().nullable(),
  status: z.string().nullable(),
  date: z.string(),
});
export type LegacyRecord = z.infer<typeof LegacyRecord>;

/** The older API's other answers: a message (its errors too, but a create's). */
export const LegacyMessage = z.object({ message: z.string() });
/** A refused create, in the older API's shape. */
export const LegacyCreateError = z.object({ error: z.string(), details: z.array(FieldIssue) });
export const LegacyHealthDetail = LegacyMessage.extend({
  postgresql: z.enum(['up', 'down']),
  redis: z.enum(['up', 'down', 'disabled']),
  status: z.enum(['up', 'degraded', 'down']),
});

/** A node's readiness for traffic: not while it drains, nor while PostgreSQL or a configured Redis does not answer. */
export const Readiness = z.object({
  ready: z.boolean(),
  draining: z.boolean(),
  postgresql: z.enum(['up', 'down']).optional(),
  redis: z.enum(['up', 'down', 'disabled']).optional(),
});

/** What a dashboard learns when someone comes or goes: who, where, and since when they are in. */
export const PresenceChange = z.object({
  siteId: Id.nullable(),
  employeeId: Id,
  present: z.boolean(),
  since: z.string().nullable(),
});
export type PresenceChange = z.infer<typeof PresenceChange>;

/** A check-in was voided: which (its seq and eventId), what it had recorded, who voided it and why. */
export const CheckinVoided = z.object({
  checkinSeq: z.number().int().positive(),
  eventId: z.uuid(),
  employeeId: Id,
  siteId: Id.nullable(),
  type: CheckinType,
  occurredAt: z.string(),
  by: z.string().nullable(),
  reason: z.string(),
});
export type CheckinVoided = z.infer<typeof CheckinVoided>;

/** A stored check-in as an event carries it: the REST check-in without its seq, which the event envelope holds, as recorded (never voided). */
export const CheckinRecorded = Checkin.omit({ seq: true, voided: true });
export type CheckinRecorded = z.infer<typeof CheckinRecorded>;

export const SubscribeRequest = z.strictObject({
  sites: z.array(Id).max(100).optional(),
  employees: z.array(Id).max(1000).optional(),
  /** Last seq the client has: the hub replays every matching event after it, then goes live. */
  since: z.number().int().min(0).optional(),
  /** true: events come packed in `events` messages (one frame per commit); else one named message each. */
  packed: z.boolean().optional(),
});
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export type SubscribeAck =
  | { ok: true; seq: number; presence: Record<string, PresenceEntry[]> }
  | { ok: false; error: ErrorBody };

/**
 * GET /api/v1/events/stream: the sites to follow (`sites=S1&sites=S2`; none: every site in reach) and
 * the last seq the client has. A reconnecting EventSource sends the id of the last event it got as
 * Last-Event-ID, with the URL it first opened: that header wins over `since`.
 */
export const EventStreamQuery = z.strictObject({
  sites: z
    .union([Id, z.array(Id).min(1).max(100)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional(),
  since: Seq.optional(),
});
export const EventStreamHeaders = z.object({ 'last-event-id': Seq.optional() });

export type KioskAck = { ok: true; data: Checkin; created: boolean } | { ok: false; error: ErrorBody };
