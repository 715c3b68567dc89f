import { z } from 'zod';
import type { ZodObjectInput, ZodOpenApiResponseObject } from 'zod-openapi';
import { AuditEntry, AuditQuery, CreatedToken, LoginAnswer, LoginInput, Me, Token, TokenCreate, TokenParams, User, UserCreate, UserParams, UserUpdate, UuidPageQuery } from './auth.js';
import {
  BadgeLookup,
  BadgeParams,
  Employee,
  EmployeeCreate,
  EmployeeListQuery,
  EmployeeUpdate,
  PathParams,
  Site,
  SiteCreate,
  SiteListQuery,
  SiteUpdate,
} from './directory.js';
import { DailyReportQuery, DailyReportRow, SummaryQuery, SummaryRow, TimesheetParams, TimesheetQuery, TimesheetRow } from './reports.js';
import {
  Assignment,
  AssignmentCreate,
  AssignmentPathParams,
  Holiday,
  HolidayCreate,
  HolidayListQuery,
  HolidayPathParams,
  Leave,
  LeaveCreate,
  LeavePathParams,
  Shift,
  ShiftCreate,
  ShiftPathParams,
  ShiftUpdate,
} from './schedule.js';
import {
  BatchItemResult,
  Checkin,
  CheckinBatchInput,
  CheckinHeaders,
  CheckinInput,
  CheckinListQuery,
  CheckinParams,
  CorrectionInput,
  dataOf,
  ErrorResponse,
  EventStreamHeaders,
  EventStreamQuery,
  Id,
  LegacyCreateError,
  LegacyHealthDetail,
  LegacyMessage,
  LegacyRecord,
  LegacyRecordInput,
  pageOf,
  PresenceAnswer,
  PresenceQuery,
  Readiness,
  VoidInput,
} from './schemas.js';
import { AttendanceExportQuery, CheckinExportQuery, EMPLOYEE_IMPORT_COLUMNS, ImportQuery, ImportResult, MAX_IMPORT_ROWS } from './bulk.js';
import { CreatedWebhook, DeliveryQuery, PingResult, RedeliverInput, Webhook, WebhookCreate, WebhookDelivery, WebhookParams, WebhookUpdate } from './webhooks.js';

/**
 * The REST contract: every route the hub serves, with the shared schemas it validates and answers
 * with. shared/openapi.ts turns it into the OpenAPI document; test/openapi.test.ts holds the routers
 * and their answers to it. Keys are "METHOD /path/{param}".
 */

export const TAGS = {
  'Check-ins': 'Punches from kiosks and offline batches, the check-in log and who is in.',
  'Live events': 'The committed events as Server-Sent Events, replayed from a seq and then live (Socket.IO on the same port carries them too).',
  Sites: 'Places people work at, each with its time zone.',
  Employees: 'People who punch, their badges and PINs.',
  Reports: 'Daily reports and timesheets, in each site’s time zone.',
  Schedule: 'Shifts and holidays per site, shift assignments and leave per employee: what a day is judged by.',
  'Sign-in': 'Sessions for people; who the caller is.',
  Tokens: 'API tokens for kiosks, dashboards and integrations (admins).',
  Bulk: 'Employees in from CSV (with a dry run, all or nothing); check-ins and daily attendance out, streamed.',
  Webhooks: 'Signed POSTs of every committed event to HR and payroll systems, in seq order per endpoint, resumable by seq (admins).',
  Users: 'People who sign in (admins).',
  Audit: 'Every write, who made it and what changed (admins).',
  'Older API': 'The older Attendance API’s routes, in its own shapes.',
  Operations: 'Probes for orchestrators and load balancers, and Prometheus metrics.',
  Pages: 'The dashboard and kiosk screens and their assets.',
  Documentation: 'This document and the interactive docs.',
} as const;

/** Error answers in the `{"error":{code,message,details?}}` envelope, with the codes this route may give. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 422 | 429 | 503;

export type Operation = {
  tag: keyof typeof TAGS;
  summary: string;
  description?: string;
  /** Who may call it (the rules themselves are server/policies/). Absent: anyone authenticated. */
  who?: string;
  /** Needs no credentials. */
  open?: true;
  params?: ZodObjectInput;
  query?: ZodObjectInput;
  headers?: ZodObjectInput;
  body?: z.ZodType;
  /** The body's media type: JSON unless said. */
  bodyType?: string;
  /** The route's own answers, by status. */
  answers: Record<number, ZodOpenApiResponseObject>;
  errors?: Partial<Record<ErrorStatus, string>>;
};

const json = (description: string, schema: z.ZodType): ZodOpenApiResponseObject => ({ description, content: { 'application/json': { schema } } });

/** A file answer: its media types, each a string of bytes. */
const file = (description: string, ...types: string[]): ZodOpenApiResponseObject => ({
  description,
  content: Object.fromEntries(types.map((type) => [type, { schema: z.string() }])),
});

const NOT_MODIFIED: ZodOpenApiResponseObject = { description: 'Not modified: the ETag in If-None-Match (or Last-Modified) still holds.' };
const PAGES_NOT_BUILT = json('`pages_not_built`: run `npm run build`.', ErrorResponse);
const ADMINS = 'Admins.';
const SCHEDULERS = 'Admins; managers, at their sites.';

/** The older API's answers: what its clients parse. */
const OLDER = {
  message: (description: string) => json(description, LegacyMessage),
  createError: (description: string) => json(description, LegacyCreateError),
};

export const api = {
  // The older Attendance API.
  'POST /api/v1/attendance/create': {
    tag: 'Older API',
    summary: 'Create or update an employee’s daily record',
    description: 'Creates the employee if new and upserts that employee’s record for the date, through the same group commit as check-ins.',
    who: 'Admins; managers, for their sites’ employees. With LEGACY_ANONYMOUS=true also without credentials.',
    body: LegacyRecordInput,
    answers: {
      200: OLDER.message('Stored.'),
      400: OLDER.createError('`Validation Error`, with a FieldIssue per wrong field.'),
      403: OLDER.createError('Out of reach for this credential.'),
    },
  },
  'GET /api/v1/attendance/search': {
    tag: 'Older API',
    summary: 'The record of an employee’s latest date',
    who: 'Admins; managers, for their sites’ employees. With LEGACY_ANONYMOUS=true also without credentials.',
    query: z.object({ id: Id }),
    answers: {
      200: json('The latest record.', LegacyRecord),
      400: OLDER.message('No id, or not a valid one.'),
      403: OLDER.message('Out of reach for this credential.'),
      404: OLDER.message('No record for this id.'),
    },
  },
  'GET /api/v1/attendance/search/all': {
    tag: 'Older API',
    summary: 'Every record, ordered by id then date (streamed)',
    who: 'Admins; managers (their sites’ employees). With LEGACY_ANONYMOUS=true also without credentials.',
    answers: { 200: json('Every record in reach.', z.array(LegacyRecord)), 403: OLDER.message('Not for this role.') },
  },
  'GET /api/v1/attendance/health': {
    tag: 'Older API',
    summary: 'Liveness of the hub and its PostgreSQL',
    open: true,
    answers: { 200: OLDER.message('Up.'), 503: OLDER.message('PostgreSQL is unreachable.') },
  },
  'GET /api/v1/attendance/health/detail': {
    tag: 'Older API',
    summary: 'PostgreSQL and Redis, each up or down',
    open: true,
    answers: {
      200: json('`up`, or `degraded` (Redis down: every request is still served).', LegacyHealthDetail),
      503: json('`down`: PostgreSQL is unreachable.', LegacyHealthDetail),
    },
  },

  // Check-ins.
  'POST /api/v1/checkins': {
    tag: 'Check-ins',
    summary: 'Punch in or out',
    description:
      'Acknowledged only after commit. A known `eventId` (or `Idempotency-Key`), or a punch identical to a stored one, answers the stored check-in with 200: retry a 503 with the same `eventId`.',
    who: 'Admins; managers and kiosks, for their sites’ employees (kiosks with the PIN of an employee who has one).',
    headers: CheckinHeaders,
    body: CheckinInput,
    answers: { 201: json('Stored.', dataOf(Checkin)), 200: json('Already stored: the stored check-in.', dataOf(Checkin)) },
    errors: {
      400: '`validation_failed`, `occurred_in_future`, `idempotency_key_mismatch`.',
      401: '`invalid_pin` too.',
      403: 'The employee or site is out of reach; `outside_geofence`, `location_required` (a site whose geofence rejects).',
      404: '`unknown_employee`, `unknown_site`, `unknown_badge`.',
      409: '`already_checked_in`, `not_checked_in`, `out_of_sequence`, `employee_inactive`, `site_inactive`, `event_id_conflict`.',
      429: '`pin_attempts_exceeded`, `rate_limited` (with Retry-After).',
    },
  },
  'POST /api/v1/checkins/batch': {
    tag: 'Check-ins',
    summary: 'Sync a kiosk’s offline punches',
    description: 'Each punch is judged on its own, in occurredAt order; the valid ones are stored in one transaction.',
    who: 'Admins; managers and kiosks (an item out of reach is rejected).',
    body: CheckinBatchInput,
    answers: { 200: json('A result per punch, in the order sent.', dataOf(z.array(BatchItemResult))) },
    errors: { 400: '`validation_failed`: no punches, or more than 1,000.', 403: 'Not for this role.' },
  },
  'POST /api/v1/checkins/corrections': {
    tag: 'Check-ins',
    summary: 'Add a punch on an employee’s behalf, with why (a forgotten check-out)',
    description:
      'Judged by the same rules as any punch, on the timeline as it stands (voided punches left out), and stored with its `reason`; dashboards get it as a `checkin.recorded` event, and the audit log as a `correct`. Not held to geofences. A known `eventId` answers the stored check-in with 200.',
    who: 'Admins; managers, for their sites’ employees.',
    body: CorrectionInput,
    answers: { 201: json('Stored.', dataOf(Checkin)), 200: json('Already stored: the stored check-in.', dataOf(Checkin)) },
    errors: {
      400: '`validation_failed`, `occurred_in_future`.',
      403: 'The employee or site is out of reach, or not for this role.',
      404: '`unknown_employee`, `unknown_site`.',
      409: '`already_checked_in`, `not_checked_in`, `out_of_sequence`, `employee_inactive`, `site_inactive`, `event_id_conflict`.',
    },
  },
  'POST /api/v1/checkins/{eventId}/void': {
    tag: 'Check-ins',
    summary: 'Void a check-in: it stays, marked with who and why',
    description:
      'The rules judge the timeline without it in the same transaction: a void that would leave a later punch without its pair (the `in` of a closed session) is refused, `out_of_sequence`; void the later punch first. Presence, reports and timesheets leave it out; dashboards get a `checkin.voided` event (and a `presence.changed` where it was the latest punch); the audit log a `void`.',
    who: 'Admins; managers, for their sites’ check-ins.',
    params: CheckinParams,
    body: VoidInput,
    answers: { 200: json('The check-in, now with `voided`.', dataOf(Checkin)) },
    errors: {
      400: '`validation_failed`: a reason is required.',
      403: 'Out of reach, or not for this role.',
      404: '`checkin_not_found`.',
      409: '`already_voided`, `out_of_sequence`.',
    },
  },
  'GET /api/v1/checkins': {
    tag: 'Check-ins',
    summary: 'Check-ins in seq order',
    description: '`from` (included) and `to` (left out) bound occurredAt; `next` is the seq to pass as `after`.',
    who: 'Admins; managers and dashboards (their sites).',
    query: CheckinListQuery,
    answers: { 200: json('A page of check-ins.', pageOf(Checkin)) },
    errors: { 400: '`validation_failed`.', 403: 'A site out of reach, or not for this role.' },
  },
  'GET /api/v1/presence': {
    tag: 'Check-ins',
    summary: 'Who is in at a site now, since when, and who is expected and not in',
    description:
      '`expected` lists the site’s people whose shift has started (not on a holiday or leave) and who have not checked in since its window opened, with how late they are. ' +
      'It changes as people arrive (their `checkin.recorded` events) and otherwise only at `changesAt`: ask again then rather than on a timer.',
    who: 'Admins; managers and dashboards (their sites).',
    query: PresenceQuery,
    answers: { 200: json('Who is in, and who is expected and not in.', PresenceAnswer) },
    errors: { 400: '`validation_failed`.', 403: 'The site is out of reach.' },
  },

  // Live events.
  'GET /api/v1/events/stream': {
    tag: 'Live events',
    summary: 'Follow the events of the sites in reach (Server-Sent Events)',
    description:
      'A `text/event-stream` that does not end. First a `ready` message whose `id` is the seq the stream is placed after: `Last-Event-ID` (what a reconnecting EventSource sends), else `since`, else this node’s head. ' +
      'Then every matching event after it, replayed from PostgreSQL and then live, in seq order, each once: `id:` its seq, `event:` its name, `data:` the envelope `{"seq","name","siteId","employeeId","payload"}` a socket gets. ' +
      'A comment line (`: ping`) comes every SSE_HEARTBEAT_MS. The hub ends a stream when it shuts down, when the credential is revoked or expires, and when the reader leaves SSE_MAX_BUFFERED_BYTES unread: reconnect with Last-Event-ID and nothing is missed.',
    who: 'Admins; managers and dashboards (their sites).',
    query: EventStreamQuery,
    headers: EventStreamHeaders,
    answers: { 200: file('The stream: `ready`, then events, and comment lines between them.', 'text/event-stream') },
    errors: {
      400: '`validation_failed`.',
      403: 'A site out of reach, or not for this role.',
      404: '`site_not_found`.',
      410: '`since_pruned` (`details`: `{since, prunedThrough}`): the events after that seq are no longer kept. Start afresh without it.',
      429: '`too_many_streams`: SSE_STREAMS_PER_TOKEN streams of this credential are open on this node.',
    },
  },

  // Sites.
  'POST /api/v1/sites': {
    tag: 'Sites',
    summary: 'Create a site',
    who: ADMINS,
    body: SiteCreate,
    answers: { 201: json('Created.', dataOf(Site)) },
    errors: { 400: '`validation_failed` (an unknown time zone too).', 403: 'Not for this role.', 409: '`site_exists`.' },
  },
  'GET /api/v1/sites': {
    tag: 'Sites',
    summary: 'List the sites in reach',
    query: SiteListQuery,
    answers: { 200: json('A page of sites.', pageOf(Site)) },
    errors: { 400: '`validation_failed`.' },
  },
  'GET /api/v1/sites/{id}': {
    tag: 'Sites',
    summary: 'A site',
    who: 'Admins; others for their own sites.',
    params: PathParams,
    answers: { 200: json('The site.', dataOf(Site)) },
    errors: { 400: '`validation_failed`.', 403: 'The site is out of reach.', 404: '`site_not_found`.' },
  },
  'PATCH /api/v1/sites/{id}': {
    tag: 'Sites',
    summary: 'Rename, move to another time zone, reopen or close a site',
    who: ADMINS,
    params: PathParams,
    body: SiteUpdate,
    answers: { 200: json('The changed site.', dataOf(Site)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`site_not_found`.' },
  },
  'POST /api/v1/sites/{id}/deactivate': {
    tag: 'Sites',
    summary: 'Close a site to new check-ins',
    description: 'A session opened there can still be closed; `PATCH {"active":true}` reopens it.',
    who: ADMINS,
    params: PathParams,
    answers: { 200: json('The deactivated site.', dataOf(Site)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`site_not_found`.' },
  },

  // Employees.
  'POST /api/v1/employees': {
    tag: 'Employees',
    summary: 'Create an employee',
    description: 'The PIN is stored as a salted scrypt hash; only `hasPin` is ever returned.',
    who: 'Admins; managers, at their sites.',
    body: EmployeeCreate,
    answers: { 201: json('Created.', dataOf(Employee)) },
    errors: { 400: '`validation_failed`.', 403: 'The site is out of reach.', 404: '`unknown_site`.', 409: '`employee_exists`, `badge_taken`, `site_inactive`.' },
  },
  'GET /api/v1/employees': {
    tag: 'Employees',
    summary: 'List the employees in reach',
    who: 'Admins; managers (their sites).',
    query: EmployeeListQuery,
    answers: { 200: json('A page of employees.', pageOf(Employee)) },
    errors: { 400: '`validation_failed`.', 403: 'A site out of reach, or not for this role.' },
  },
  'GET /api/v1/employees/{id}': {
    tag: 'Employees',
    summary: 'An employee',
    who: 'Admins; managers, for their sites’ employees.',
    params: PathParams,
    answers: { 200: json('The employee.', dataOf(Employee)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`.' },
  },
  'PATCH /api/v1/employees/{id}': {
    tag: 'Employees',
    summary: 'Change an employee',
    description: '`null` clears a field: `siteId` unassigns, `badge` frees the badge, `pin` removes the PIN.',
    who: 'Admins; managers, for their sites’ employees and within them.',
    params: PathParams,
    body: EmployeeUpdate,
    answers: { 200: json('The changed employee.', dataOf(Employee)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`, `unknown_site`.', 409: '`badge_taken`, `site_inactive`.' },
  },
  'POST /api/v1/employees/{id}/deactivate': {
    tag: 'Employees',
    summary: 'Deactivate an employee',
    who: 'Admins; managers, for their sites’ employees.',
    params: PathParams,
    answers: { 200: json('The deactivated employee.', dataOf(Employee)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`.' },
  },
  'GET /api/v1/badges/{badge}': {
    tag: 'Employees',
    summary: 'Whose badge, and whether to ask for a PIN',
    who: 'Admins; managers and kiosks, for their sites’ badges.',
    params: BadgeParams,
    answers: { 200: json('The badge holder.', dataOf(BadgeLookup)) },
    errors: { 400: '`validation_failed`.', 403: 'A badge of another site.', 404: '`unknown_badge`.' },
  },

  // Reports.
  'GET /api/v1/reports/daily': {
    tag: 'Reports',
    summary: 'A site’s day, per employee',
    description:
      'Per employee who worked a session at the site that day, and each active employee of the site who worked nowhere. JSON, or CSV with `Accept: text/csv` or `format=csv` (columns employeeId, name, date, shiftId, firstIn, lastOut, workedMinutes, sessions, scheduledMinutes, lateMinutes, earlyExitMinutes, overtimeMinutes, status, flags; flags joined with `;`).',
    who: 'Admins; managers (their sites).',
    query: DailyReportQuery,
    answers: {
      200: {
        description: 'The report, streamed.',
        content: { 'application/json': { schema: dataOf(z.array(DailyReportRow)) }, 'text/csv': { schema: z.string() } },
      },
    },
    errors: { 400: '`validation_failed`.', 403: 'The site is out of reach.', 404: '`site_not_found`.' },
  },  'GET /api/v1/reports/summary': {
    tag: 'Reports',
    summary: 'A site’s date range, per employee: what payroll imports',
    description:
      'Per active employee of the site, their days from `from` to `to` (both included, at most 366) summed: days present, half, absent, late, on leave and holidays, and minutes worked, late and over time. JSON, or CSV with `Accept: text/csv` or `format=csv` (columns as the JSON fields).',
    who: 'Admins; managers (their sites).',
    query: SummaryQuery,
    answers: {
      200: {
        description: 'The summary, streamed.',
        content: { 'application/json': { schema: dataOf(z.array(SummaryRow)) }, 'text/csv': { schema: z.string() } },
      },
    },
    errors: { 400: '`validation_failed`, `range_too_large`.', 403: 'The site is out of reach.', 404: '`site_not_found`.' },
  },

  'GET /api/v1/employees/{id}/timesheet': {
    tag: 'Reports',
    summary: 'An employee’s days, one row each (at most 366)',
    who: 'Admins; managers, for their sites’ employees.',
    params: TimesheetParams,
    query: TimesheetQuery,
    answers: { 200: json('A row per day.', dataOf(z.array(TimesheetRow))) },
    errors: { 400: '`validation_failed`, `range_too_large`.', 403: 'Out of reach.', 404: '`employee_not_found`.' },
  },

  // Schedule.
  'GET /api/v1/sites/{id}/shifts': {
    tag: 'Schedule',
    summary: 'A site’s shifts',
    who: SCHEDULERS,
    params: PathParams,
    answers: { 200: json('Its shifts.', dataOf(z.array(Shift))) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`site_not_found`.' },
  },
  'POST /api/v1/sites/{id}/shifts': {
    tag: 'Schedule',
    summary: 'Add a shift to a site',
    description: 'Start and end are wall times in the site’s zone; an end at or before the start is on the next day.',
    who: SCHEDULERS,
    params: PathParams,
    body: ShiftCreate,
    answers: { 201: json('Added.', dataOf(Shift)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`site_not_found`.', 409: '`shift_exists`.' },
  },
  'PATCH /api/v1/sites/{id}/shifts/{shiftId}': {
    tag: 'Schedule',
    summary: 'Change a shift',
    who: SCHEDULERS,
    params: ShiftPathParams,
    body: ShiftUpdate,
    answers: { 200: json('The changed shift.', dataOf(Shift)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`site_not_found`, `shift_not_found`.' },
  },
  'GET /api/v1/sites/{id}/holidays': {
    tag: 'Schedule',
    summary: 'A site’s holidays',
    who: SCHEDULERS,
    params: PathParams,
    query: HolidayListQuery,
    answers: { 200: json('Its holidays, by date.', dataOf(z.array(Holiday))) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`site_not_found`.' },
  },
  'POST /api/v1/sites/{id}/holidays': {
    tag: 'Schedule',
    summary: 'Add a holiday to a site',
    who: SCHEDULERS,
    params: PathParams,
    body: HolidayCreate,
    answers: { 201: json('Added.', dataOf(Holiday)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`site_not_found`.', 409: '`holiday_exists`.' },
  },
  'DELETE /api/v1/sites/{id}/holidays/{date}': {
    tag: 'Schedule',
    summary: 'Remove a holiday',
    who: SCHEDULERS,
    params: HolidayPathParams,
    answers: { 200: json('The removed holiday.', dataOf(Holiday)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`site_not_found`, `holiday_not_found`.' },
  },
  'GET /api/v1/employees/{id}/shift-assignments': {
    tag: 'Schedule',
    summary: 'An employee’s shift assignments',
    who: SCHEDULERS,
    params: PathParams,
    answers: { 200: json('The assignments, by `from`.', dataOf(z.array(Assignment))) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`.' },
  },
  'POST /api/v1/employees/{id}/shift-assignments': {
    tag: 'Schedule',
    summary: 'Assign an employee a shift of their site from a date',
    description: 'Without `to`, it holds until a later assignment replaces it, and ends the open-ended one before it.',
    who: SCHEDULERS,
    params: PathParams,
    body: AssignmentCreate,
    answers: { 201: json('Assigned.', dataOf(Assignment)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`, `shift_not_found`.', 409: '`shift_at_other_site`, `shift_inactive`.' },
  },
  'DELETE /api/v1/employees/{id}/shift-assignments/{assignmentId}': {
    tag: 'Schedule',
    summary: 'Remove a shift assignment',
    who: SCHEDULERS,
    params: AssignmentPathParams,
    answers: { 200: json('The removed assignment.', dataOf(Assignment)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`, `assignment_not_found`.' },
  },
  'GET /api/v1/employees/{id}/leave': {
    tag: 'Schedule',
    summary: 'An employee’s leave',
    who: SCHEDULERS,
    params: PathParams,
    answers: { 200: json('The leave, by `from`.', dataOf(z.array(Leave))) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`.' },
  },
  'POST /api/v1/employees/{id}/leave': {
    tag: 'Schedule',
    summary: 'Record leave for an employee (at most 366 days)',
    who: SCHEDULERS,
    params: PathParams,
    body: LeaveCreate,
    answers: { 201: json('Recorded.', dataOf(Leave)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`.' },
  },
  'DELETE /api/v1/employees/{id}/leave/{leaveId}': {
    tag: 'Schedule',
    summary: 'Remove leave',
    who: SCHEDULERS,
    params: LeavePathParams,
    answers: { 200: json('The removed leave.', dataOf(Leave)) },
    errors: { 400: '`validation_failed`.', 403: 'Out of reach.', 404: '`employee_not_found`, `leave_not_found`.' },
  },

  // Sign-in.
  'POST /api/v1/auth/login': {
    tag: 'Sign-in',
    summary: 'Sign in with a username and password',
    description: 'Sets the httpOnly `hub_session` cookie (SameSite=Strict). Each wrong password slows the next answer.',
    open: true,
    body: LoginInput,
    answers: {
      200: { ...json('Signed in.', dataOf(LoginAnswer)), headers: z.object({ 'set-cookie': z.string().meta({ description: 'hub_session=…; HttpOnly; SameSite=Strict' }) }) },
    },
    errors: { 400: '`validation_failed`.', 401: '`invalid_credentials`.', 429: '`login_locked` (with Retry-After).' },
  },
  'POST /api/v1/auth/logout': {
    tag: 'Sign-in',
    summary: 'End the session on every node',
    description: 'Closes its sockets too. A token is not ended this way: revoke it.',
    answers: { 204: { description: 'Signed out; the cookie is cleared.' } },
    errors: { 403: 'A cookie-authenticated call from a foreign origin.' },
  },
  'GET /api/v1/auth/me': {
    tag: 'Sign-in',
    summary: 'Who the hub takes the caller for',
    answers: { 200: json('The caller.', dataOf(Me)) },
  },

  // Tokens.
  'POST /api/v1/tokens': {
    tag: 'Tokens',
    summary: 'Make an API token',
    description: 'The secret (`token`) is in this answer only; PostgreSQL keeps a fingerprint.',
    who: ADMINS,
    body: TokenCreate,
    answers: { 201: json('Made, with its secret.', dataOf(CreatedToken)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`unknown_site`.' },
  },
  'GET /api/v1/tokens': {
    tag: 'Tokens',
    summary: 'List tokens, without secrets',
    who: ADMINS,
    query: UuidPageQuery,
    answers: { 200: json('A page of tokens.', pageOf(Token)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.' },
  },
  'DELETE /api/v1/tokens/{id}': {
    tag: 'Tokens',
    summary: 'Revoke a token on every node',
    who: ADMINS,
    params: TokenParams,
    answers: { 200: json('The revoked token.', dataOf(Token)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`token_not_found`.' },
  },

  // Bulk.
  'POST /api/v1/imports/employees': {
    tag: 'Bulk',
    summary: 'Create and change employees from a CSV file, all or nothing',
    description:
      `A header row naming \`id\` and any of ${EMPLOYEE_IMPORT_COLUMNS.filter((c) => c !== 'id').map((c) => `\`${c}\``).join(', ')}, then one employee a row (at most ${MAX_IMPORT_ROWS.toLocaleString('en-US')}). ` +
      'A new id creates the employee (a name is required); a known one changes the fields its row fills; an empty cell leaves that field as it is (so PINs are set for some rows and left for others). ' +
      'Every row is judged first: with any problem, the answer is 422 `import_invalid` listing every problem with its line and column, and nothing is written. `dryRun=true` stops there even without problems, answering what would be done. Otherwise everything is written in one transaction and audited.',
    who: 'Admins; managers, for their sites’ employees.',
    query: ImportQuery,
    body: z.string().meta({ description: 'The CSV file (UTF-8, comma-separated, a header row).' }),
    bodyType: 'text/csv',
    answers: { 200: json('Written, or (dry run) what would be.', dataOf(ImportResult)) },
    errors: {
      400: '`invalid_csv` (not CSV, or a header without `id` or with unknown columns), `too_many_rows`, `validation_failed` (the query).',
      403: 'Not for this role.',
      409: '`import_conflict`, `site_inactive`: something changed while it was being written.',
      422: '`import_invalid`, with `details.problems`: `[{line, id, column, code, message}]`.',
    },
  },
  'GET /api/v1/exports/checkins': {
    tag: 'Bulk',
    summary: 'Check-ins of a date range, streamed (CSV or JSON)',
    description:
      'Every check-in whose date in its site’s time zone (its employee’s site’s without one; UTC without either) lies in from..to, at most a year, in seq order, from the sites in reach (or the one named); voided ones included, with `voided`. CSV with `Accept: text/csv` or `format=csv`.',
    who: 'Admins; managers and dashboards (their sites).',
    query: CheckinExportQuery,
    answers: { 200: { description: 'The check-ins.', content: { 'application/json': { schema: dataOf(z.array(Checkin)) }, 'text/csv': { schema: z.string() } } } },
    errors: { 400: '`validation_failed`, `range_too_large`.', 403: 'A site out of reach, or not for this role.' },
  },
  'GET /api/v1/exports/attendance': {
    tag: 'Bulk',
    summary: 'Daily attendance of a date range, streamed (CSV or JSON)',
    description: 'The daily report of each day from..to (at most a year), one day after another: the same rows and columns as `GET /api/v1/reports/daily`.',
    who: 'Admins; managers, at their sites.',
    query: AttendanceExportQuery,
    answers: { 200: { description: 'The rows.', content: { 'application/json': { schema: dataOf(z.array(DailyReportRow)) }, 'text/csv': { schema: z.string() } } } },
    errors: { 400: '`validation_failed`, `range_too_large`.', 403: 'A site out of reach, or not for this role.', 404: '`site_not_found`.' },
  },

  // Webhooks.
  'POST /api/v1/webhooks': {
    tag: 'Webhooks',
    summary: 'Register an endpoint',
    description:
      'It is sent every event committed from now on that matches `events` and `sites` (empty: all), one POST each, in seq order: the body is the event envelope a socket gets, `X-Hub-Delivery` its seq, `X-Hub-Event` its name and `X-Hub-Signature` `t=<unix>,v1=<hex HMAC-SHA256 over "<t>.<body>">` with the secret. A 2xx acknowledges it; anything else is retried with backoff, and the endpoint is disabled after WEBHOOK_DISABLE_AFTER_SECONDS of failing. The secret (made up unless given) is in this answer only.',
    who: ADMINS,
    body: WebhookCreate,
    answers: { 201: json('Registered, with its secret.', dataOf(CreatedWebhook)) },
    errors: { 400: '`validation_failed`: an https:// URL (http:// only on localhost), known event names, a secret of 16+ printable characters.', 403: 'Not for this role.', 404: '`unknown_site`.' },
  },
  'GET /api/v1/webhooks': {
    tag: 'Webhooks',
    summary: 'List endpoints, without secrets',
    who: ADMINS,
    answers: { 200: json('Every endpoint: where it stands (`deliveredThrough`), and whether and why it is failing or disabled.', dataOf(z.array(Webhook))) },
    errors: { 403: 'Not for this role.' },
  },
  'GET /api/v1/webhooks/{id}': {
    tag: 'Webhooks',
    summary: 'An endpoint',
    who: ADMINS,
    params: WebhookParams,
    answers: { 200: json('The endpoint.', dataOf(Webhook)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`webhook_not_found`.' },
  },
  'PATCH /api/v1/webhooks/{id}': {
    tag: 'Webhooks',
    summary: 'Change an endpoint, or disable or re-enable it',
    description: '`active: true` re-enables a disabled endpoint: it goes on after the last event its receiver acknowledged.',
    who: ADMINS,
    params: WebhookParams,
    body: WebhookUpdate,
    answers: { 200: json('The changed endpoint.', dataOf(Webhook)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`webhook_not_found`, `unknown_site`.' },
  },
  'DELETE /api/v1/webhooks/{id}': {
    tag: 'Webhooks',
    summary: 'Remove an endpoint and its delivery log',
    who: ADMINS,
    params: WebhookParams,
    answers: { 200: json('The removed endpoint.', dataOf(Webhook)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`webhook_not_found`.' },
  },
  'POST /api/v1/webhooks/{id}/ping': {
    tag: 'Webhooks',
    summary: 'Send a signed test ping now',
    description: 'A `ping` (`{"name":"ping","webhookId","at"}`, `X-Hub-Event: ping`), outside the event order; the answer says how the receiver answered, and the delivery log records it (with no seq).',
    who: ADMINS,
    params: WebhookParams,
    answers: { 200: json('How the receiver answered.', dataOf(PingResult)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`webhook_not_found`.' },
  },
  'GET /api/v1/webhooks/{id}/deliveries': {
    tag: 'Webhooks',
    summary: 'Delivery attempts, oldest first',
    description:
      'Every attempt of the last WEBHOOK_DELIVERY_LOG_DAYS (acknowledged deliveries, failures, pings), oldest first: the seq, the attempt number, and the receiver’s status or the error. Paged by id.',
    who: ADMINS,
    params: WebhookParams,
    query: DeliveryQuery,
    answers: { 200: json('A page of attempts.', pageOf(WebhookDelivery)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`webhook_not_found`.' },
  },
  'POST /api/v1/webhooks/{id}/redeliver': {
    tag: 'Webhooks',
    summary: 'Send again from a seq',
    description: 'The endpoint goes back to just before `fromSeq`: every matching event from there is sent again, in order.',
    who: ADMINS,
    params: WebhookParams,
    body: RedeliverInput,
    answers: { 200: json('The endpoint, moved back.', dataOf(Webhook)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`webhook_not_found`.', 410: '`since_pruned`: events from that seq are no longer kept.' },
  },

  // Users.
  'POST /api/v1/users': {
    tag: 'Users',
    summary: 'Add a person who signs in',
    who: ADMINS,
    body: UserCreate,
    answers: { 201: json('Added.', dataOf(User)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`unknown_site`.', 409: '`username_taken`.' },
  },
  'GET /api/v1/users': {
    tag: 'Users',
    summary: 'List people who sign in',
    who: ADMINS,
    query: UuidPageQuery,
    answers: { 200: json('A page of users.', pageOf(User)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.' },
  },
  'GET /api/v1/users/{id}': {
    tag: 'Users',
    summary: 'A person who signs in',
    who: ADMINS,
    params: UserParams,
    answers: { 200: json('The user.', dataOf(User)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`user_not_found`.' },
  },
  'PATCH /api/v1/users/{id}': {
    tag: 'Users',
    summary: 'Change a user',
    description: 'A new password, role or sites, or deactivation, ends their sessions.',
    who: ADMINS,
    params: UserParams,
    body: UserUpdate,
    answers: { 200: json('The changed user.', dataOf(User)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.', 404: '`user_not_found`, `unknown_site`.' },
  },

  // Audit.
  'GET /api/v1/audit': {
    tag: 'Audit',
    summary: 'The audit log, oldest first',
    description: '`actor` filters by actorId, `entity` by kind (site, employee, checkin, record, token, user, session).',
    who: ADMINS,
    query: AuditQuery,
    answers: { 200: json('A page of entries; `next` is the id to pass as `after`.', pageOf(AuditEntry)) },
    errors: { 400: '`validation_failed`.', 403: 'Not for this role.' },
  },

  // Operations: about the node, not the API, so not versioned.
  'GET /health/live': {
    tag: 'Operations',
    summary: 'The process serves at all',
    open: true,
    answers: { 200: json('Live.', dataOf(z.object({ live: z.literal(true) }))) },
  },
  'GET /health/ready': {
    tag: 'Operations',
    summary: 'This node should be sent traffic',
    open: true,
    answers: { 200: json('Ready.', dataOf(Readiness)), 503: json('`not_ready`: draining, or a dependency does not answer (`details`: the readiness).', ErrorResponse) },
  },
  'GET /metrics': {
    tag: 'Operations',
    summary: 'Prometheus metrics',
    who: 'With METRICS_TOKEN set, that token alone (Authorization: Bearer); else admins.',
    answers: { 200: file('The Prometheus text exposition format.', 'text/plain') },
    errors: { 401: 'With METRICS_TOKEN set, anything but that token.', 403: 'Not an admin.' },
  },

  // Pages: public like any web page; the data they fetch is not.
  'GET /dashboard': {
    tag: 'Pages',
    summary: 'The live dashboard',
    open: true,
    answers: { 200: file('The page.', 'text/html'), 304: NOT_MODIFIED, 503: PAGES_NOT_BUILT },
  },
  'GET /kiosk': {
    tag: 'Pages',
    summary: 'The kiosk',
    open: true,
    answers: { 200: file('The page.', 'text/html'), 304: NOT_MODIFIED, 503: PAGES_NOT_BUILT },
  },
  'GET /kiosk-sw.js': {
    tag: 'Pages',
    summary: 'The kiosk’s service worker',
    open: true,
    answers: { 200: file('The script.', 'text/javascript'), 304: NOT_MODIFIED, 503: PAGES_NOT_BUILT },
  },
  'GET /assets/{file}': {
    tag: 'Pages',
    summary: 'A built, content-hashed asset of the pages',
    open: true,
    params: z.object({ file: z.string() }),
    answers: {
      200: file('The asset, cached for a year.', 'text/javascript', 'text/css', 'application/json', 'text/plain'),
      304: NOT_MODIFIED,
      404: json('`not_found`.', ErrorResponse),
    },
  },

  // Documentation.
  'GET /api/v1/openapi.json': {
    tag: 'Documentation',
    summary: 'This document (OpenAPI 3.1)',
    open: true,
    answers: { 200: json('The document.', z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) })) },
  },
  'GET /apidocs': {
    tag: 'Documentation',
    summary: 'Interactive docs (Swagger UI) for this document',
    open: true,
    answers: { 200: file('The page.', 'text/html') },
  },
  'GET /apidocs/{file}': {
    tag: 'Documentation',
    summary: 'The interactive docs’ scripts, styles and icons',
    open: true,
    params: z.object({ file: z.string() }),
    answers: {
      200: file('The asset.', 'text/javascript', 'text/css', 'image/png', 'application/json'),
      304: NOT_MODIFIED,
      404: json('`not_found`.', ErrorResponse),
    },
  },
} satisfies Record<`${'GET' | 'POST' | 'PATCH' | 'DELETE'} /${string}`, Operation>;

export type OperationKey = keyof typeof api;
