/**
 * Who may do what, written from issue 14's wording and not from server/policies: the matrix test
 * holds the hub to this table, so a rule that drifts in the server shows up as a cell that fails.
 *
 * Every caller holds a token scoped to site S1 (admin: every site). A row's subject says which
 * relations its cells cover; where a role's entry is an array, it follows that order:
 *   employee: an employee of S1 (own site), of S2 (other site), of no site
 *   site:     S1 (own), S2 (other)
 *   filter:   ?siteId=S1, ?siteId=S2, no filter (the answer may show only what is in reach)
 *   target:   moving an S1 employee to S1, to S2, to no site
 * A row without a subject names nothing site-bound. An outcome is what the answer reads as: the
 * status alone when allowed; status and error code when refused; for a batch, its one item's fate.
 */

export const CALLERS = ['admin', 'manager', 'kiosk', 'dashboard', 'nobody'] as const;
export type Caller = (typeof CALLERS)[number];
export const SUBJECTS = {
  employee: ['employee of own site', 'employee of other site', 'employee with no site'],
  site: ['own site', 'other site'],
  filter: ['?siteId=own', '?siteId=other', 'no filter'],
  target: ['to own site', 'to other site', 'to no site'],
} as const;
export type Subject = keyof typeof SUBJECTS;
export type Row = { subject?: Subject } & Record<Caller, string | string[]>;

const F = '403 forbidden';
const U = '401 unauthenticated';
// The older API answers errors in its own shape ({message}), which carries no code.
const F_OLD = '403';
const PIN = '401 invalid_pin';
const EVERYONE = (outcome: string) => ({ admin: outcome, manager: outcome, kiosk: outcome, dashboard: outcome });
const ADMIN_ONLY = (allowed: string) => ({ admin: allowed, manager: F, kiosk: F, dashboard: F, nobody: U });

export const REST = {
  // Open: probes and sign-in carry no credentials (one sent anyway changes nothing).
  'GET /api/v1/attendance/health': { ...EVERYONE('200'), nobody: '200' },
  'GET /api/v1/attendance/health/detail': { ...EVERYONE('200'), nobody: '200' },
  'POST /api/v1/auth/login': { ...EVERYONE('200'), nobody: '200' },

  // Sites: "admin: everything, including sites". Every role may read its own sites (the spec is silent):
  // a dashboard and a kiosk show times in their site's zone, and a board offers the sites to choose
  // from; a list shows only those in reach.
  'POST /api/v1/sites': ADMIN_ONLY('201'),
  'GET /api/v1/sites': { ...EVERYONE('200'), nobody: U },
  'GET /api/v1/sites/:id': { subject: 'site', admin: '200', manager: ['200', F], kiosk: ['200', F], dashboard: ['200', F], nobody: U },
  'PATCH /api/v1/sites/:id': { subject: 'site', ...ADMIN_ONLY('200') },
  'POST /api/v1/sites/:id/deactivate': { subject: 'site', ...ADMIN_ONLY('200') },

  // Employees: a manager's sites' only; an employee with no site is the admins'.
  'POST /api/v1/employees': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: F, dashboard: F, nobody: U },
  // Naming a site out of reach is refused, as a subscribe naming one is; no filter shows only what is in reach.
  'GET /api/v1/employees': { subject: 'filter', admin: '200', manager: ['200', F, '200'], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/employees/:id': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  'PATCH /api/v1/employees/:id': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  // A manager may neither hand its employees to a site out of reach nor make them siteless (admins' only)...
  'PATCH /api/v1/employees/:id · moving an own employee': { subject: 'target', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  // ...nor take another site's or a siteless employee into its own.
  'PATCH /api/v1/employees/:id · claiming into own site': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  'POST /api/v1/employees/:id/deactivate': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  // The kiosk's look-up; a manager may look up its own employees (it may read them anyway).
  'GET /api/v1/badges/:badge': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: ['200', F, F], dashboard: F, nobody: U },

  'GET /api/v1/employees/:id/timesheet': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/reports/daily': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/reports/summary': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },

  // Punching. The spec gives managers "its sites' … check-ins" without saying read-only (as it does
  // for dashboards): read as recording them too, e.g. corrections. Dashboards never write.
  'POST /api/v1/checkins': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: ['201', F, F], dashboard: F, nobody: U },
  'POST /api/v1/checkins · by badge': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: ['201', F, F], dashboard: F, nobody: U },
  // An own employee punched at a site named in the body: nobody records at a site out of reach.
  'POST /api/v1/checkins · at a named site': { subject: 'site', admin: '201', manager: ['201', F], kiosk: ['201', F], dashboard: F, nobody: U },
  // "never without the PIN": the kiosk's rule. People at the desk (admins, managers correcting a
  // record) do not know employees' PINs; the PIN proves the badge holder stands at the kiosk.
  'POST /api/v1/checkins · PIN employee, no PIN': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: [PIN, F, F], dashboard: F, nobody: U },
  // A wrong PIN is wrong whoever sends it; but only for an employee in reach: out of reach the
  // answer is forbidden, or a kiosk could test (and lock out) other sites' employees' PINs.
  'POST /api/v1/checkins · PIN employee, wrong PIN by id': { subject: 'employee', admin: PIN, manager: [PIN, F, F], kiosk: [PIN, F, F], dashboard: F, nobody: U },
  'POST /api/v1/checkins · PIN employee, wrong PIN by badge': { subject: 'employee', admin: PIN, manager: [PIN, F, F], kiosk: [PIN, F, F], dashboard: F, nobody: U },
  'POST /api/v1/checkins · PIN employee, right PIN by badge': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: ['201', F, F], dashboard: F, nobody: U },
  // Offline sync judges items one by one: an item out of reach is rejected, a role that may not punch is refused whole.
  'POST /api/v1/checkins/batch': {
    subject: 'employee',
    admin: 'item created',
    manager: ['item created', 'item forbidden', 'item forbidden'],
    kiosk: ['item created', 'item forbidden', 'item forbidden'],
    dashboard: F,
    nobody: U,
  },
  // Corrections (issue 17): "managers" add punches with a reason and void them, for their sites.
  'POST /api/v1/checkins/corrections': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: F, dashboard: F, nobody: U },
  'POST /api/v1/checkins/:eventId/void': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  // Kiosks punch; reading the check-in log is not "the badge look-up it needs".
  'GET /api/v1/checkins': { subject: 'filter', admin: '200', manager: ['200', F, '200'], kiosk: F, dashboard: ['200', F, '200'], nobody: U },
  // An employee filter is narrowed to what is in reach, as a subscribe's is (the spec: no event
  // "through an employee filter"), so it answers 200 showing nothing of an employee out of reach.
  'GET /api/v1/checkins · ?employeeId=': { subject: 'employee', admin: '200', manager: '200', kiosk: F, dashboard: '200', nobody: U },
  'GET /api/v1/presence': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: ['200', F], nobody: U },
  // The event stream over HTTP: whoever may subscribe a socket (SOCKET below), to the same sites.
  'GET /api/v1/events/stream': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: ['200', F], nobody: U },
  'GET /api/v1/events/stream · no filter': { admin: '200', manager: '200', kiosk: F, dashboard: '200', nobody: U },

  // Shifts, holidays, assignments and leave: "for admins and the site's managers".
  'GET /api/v1/sites/:id/shifts': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },
  'POST /api/v1/sites/:id/shifts': { subject: 'site', admin: '201', manager: ['201', F], kiosk: F, dashboard: F, nobody: U },
  'PATCH /api/v1/sites/:id/shifts/:shiftId': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/sites/:id/holidays': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },
  'POST /api/v1/sites/:id/holidays': { subject: 'site', admin: '201', manager: ['201', F], kiosk: F, dashboard: F, nobody: U },
  'DELETE /api/v1/sites/:id/holidays/:date': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/employees/:id/shift-assignments': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  // An employee with no site has no site's shift to work: refused for what it is, not for who asks.
  'POST /api/v1/employees/:id/shift-assignments': {
    subject: 'employee',
    admin: ['201', '201', '409 shift_at_other_site'],
    manager: ['201', F, F],
    kiosk: F,
    dashboard: F,
    nobody: U,
  },
  'DELETE /api/v1/employees/:id/shift-assignments/:assignmentId': {
    subject: 'employee',
    admin: ['200', '200', '404 assignment_not_found'],
    manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/employees/:id/leave': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },
  'POST /api/v1/employees/:id/leave': { subject: 'employee', admin: '201', manager: ['201', F, F], kiosk: F, dashboard: F, nobody: U },
  'DELETE /api/v1/employees/:id/leave/:leaveId': { subject: 'employee', admin: '200', manager: ['200', F, F], kiosk: F, dashboard: F, nobody: U },

  // The older API: "the same credentials (admin and manager)", with a manager held to its sites' employees.
  'POST /api/v1/attendance/create': { subject: 'employee', admin: '200', manager: ['200', F_OLD, F_OLD], kiosk: F_OLD, dashboard: F_OLD, nobody: U },
  'GET /api/v1/attendance/search': { subject: 'employee', admin: '200', manager: ['200', F_OLD, F_OLD], kiosk: F_OLD, dashboard: F_OLD, nobody: U },
  'GET /api/v1/attendance/search/all': { admin: '200', manager: '200', kiosk: F_OLD, dashboard: F_OLD, nobody: U },

  // Tokens, users and the audit log: admins only, whatever sites the thing is about.
  'POST /api/v1/tokens': { subject: 'site', ...ADMIN_ONLY('201') },
  'GET /api/v1/tokens': ADMIN_ONLY('200'),
  'DELETE /api/v1/tokens/:id': { subject: 'site', ...ADMIN_ONLY('200') },
  'POST /api/v1/users': { subject: 'site', ...ADMIN_ONLY('201') },
  'GET /api/v1/users': ADMIN_ONLY('200'),
  'GET /api/v1/users/:id': ADMIN_ONLY('200'),
  'PATCH /api/v1/users/:id': ADMIN_ONLY('200'),
  'GET /api/v1/audit': ADMIN_ONLY('200'),
  // Bulk (issue 18): an import is the employee routes' writes at once, judged row by row (a row out of
  // reach is a problem of the file, which is then written not at all); exports read what the list and
  // report routes read.
  'POST /api/v1/imports/employees': { subject: 'employee', admin: '200', manager: ['200', '422 import_invalid', '422 import_invalid'], kiosk: F, dashboard: F, nobody: U },
  'GET /api/v1/exports/checkins': { subject: 'filter', admin: '200', manager: ['200', F, '200'], kiosk: F, dashboard: ['200', F, '200'], nobody: U },
  'GET /api/v1/exports/attendance': { subject: 'site', admin: '200', manager: ['200', F], kiosk: F, dashboard: F, nobody: U },
  // Webhooks push every site's events to another system: admins only (issue 18).
  'POST /api/v1/webhooks': ADMIN_ONLY('201'),
  'GET /api/v1/webhooks': ADMIN_ONLY('200'),
  'GET /api/v1/webhooks/:id': ADMIN_ONLY('200'),
  'PATCH /api/v1/webhooks/:id': ADMIN_ONLY('200'),
  'DELETE /api/v1/webhooks/:id': ADMIN_ONLY('200'),
  'POST /api/v1/webhooks/:id/ping': ADMIN_ONLY('200'),
  'GET /api/v1/webhooks/:id/deliveries': ADMIN_ONLY('200'),
  'POST /api/v1/webhooks/:id/redeliver': ADMIN_ONLY('200'),

  // Anyone authenticated may ask who it is and sign out (for a token there is nothing to end).
  'GET /api/v1/auth/me': { ...EVERYONE('200'), nobody: U },
  'POST /api/v1/auth/logout': { ...EVERYONE('204'), nobody: U },
} satisfies Record<string, Row>;

/** Socket events, by ack: 'ok' or the error code. Without credentials there is no socket (the handshake is refused). */
export type SocketRow = { subject?: Subject } & Record<Exclude<Caller, 'nobody'>, string | string[]>;

export const SOCKET = {
  // A kiosk has "check-ins only": no live events.
  'subscribe · sites filter': { subject: 'site', admin: 'ok', manager: ['ok', 'forbidden'], kiosk: 'forbidden', dashboard: ['ok', 'forbidden'] },
  // Accepted, but narrowed to what is in reach (the delivery tests check nothing else arrives).
  'subscribe · employees filter': { subject: 'employee', admin: 'ok', manager: 'ok', kiosk: 'forbidden', dashboard: 'ok' },
  'subscribe · no filter': { admin: 'ok', manager: 'ok', kiosk: 'forbidden', dashboard: 'ok' },
  checkin: { subject: 'employee', admin: 'ok', manager: ['ok', 'forbidden', 'forbidden'], kiosk: ['ok', 'forbidden', 'forbidden'], dashboard: 'forbidden' },
  'checkin · PIN employee, no PIN': {
    subject: 'employee',
    admin: 'ok',
    manager: ['ok', 'forbidden', 'forbidden'],
    kiosk: ['invalid_pin', 'forbidden', 'forbidden'],
    dashboard: 'forbidden',
  },
} satisfies Record<string, SocketRow>;

/** A row's cells: one per relation of its subject (one cell without a subject), each with its label and outcome. */
export function cellsOf<C extends string>(row: { subject?: Subject } & Record<C, string | string[]>, caller: C): Array<{ index: number; label: string; outcome: string }> {
  const labels: readonly string[] = row.subject ? SUBJECTS[row.subject] : [''];
  const entry: string | string[] = row[caller];
  if (Array.isArray(entry) && entry.length !== labels.length) throw new Error(`${caller}: ${entry.length} outcomes for ${labels.length} relations`);
  return labels.map((label, index) => ({ index, label, outcome: Array.isArray(entry) ? entry[index]! : entry }));
}

/** 2xx, or a batch whose item went through: the request took effect. */
export const allows = (outcome: string) => /^2\d\d$/.test(outcome) || outcome === 'item created' || outcome === 'ok';
