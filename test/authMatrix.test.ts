import assert from 'node:assert/strict';
import type { Middleware } from 'koa';
import { io, type Socket } from 'socket.io-client';
import { hashSecret } from '../server/crypto.js';
import { attendanceRouter, healthRouter } from '../server/routes/attendance/attendance.js';
import { auditRouter } from '../server/routes/audit/audit.js';
import { authRouter, loginRouter } from '../server/routes/auth/auth.js';
import { bulkRouter } from '../server/routes/bulk/bulk.js';
import { checkinsRouter } from '../server/routes/checkins/checkins.js';
import { employeesRouter } from '../server/routes/employees/employees.js';
import { eventsRouter } from '../server/routes/events/events.js';
import { presenceRouter } from '../server/routes/presence/presence.js';
import { reportsRouter } from '../server/routes/reports/reports.js';
import { scheduleRouter } from '../server/routes/schedule/schedule.js';
import { sitesRouter } from '../server/routes/sites/sites.js';
import { tokensRouter } from '../server/routes/tokens/tokens.js';
import { usersRouter } from '../server/routes/users/users.js';
import { webhooksRouter } from '../server/routes/webhooks/webhooks.js';
import type { ClientToServerEvents, LiveEvent, ServerToClientEvents } from '../shared/events.js';
import type { SubscribeAck, SubscribeRequest } from '../shared/schemas.js';
import { makeSite } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';
import { until } from './support/live.js';
import { allows, CALLERS, cellsOf, REST, SOCKET, type Caller } from './support/matrix.js';
import { openStream } from './support/sse.js';

type Res = Awaited<ReturnType<typeof api>>;
type HubSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
/** What a cell sent: the answer, and for a write whether it took effect; for a list, the sites of what it shows. */
type Sent = { res: Res; answer?: string; took?: () => Promise<boolean>; shows?: Array<string | null> };
type Site = string | null;

const PIN = '4711';
const WRONG_PIN = '9999';
const PASSWORD = 'correct horse battery staple';
const DAY = '2024-03-01';
// A subject's relations, in the table's order: own site, other site, no site.
const SITE_OF = ['S1', 'S2', null] as const;
const SEEDED: Record<string, string> = { S1: 'E1', S2: 'E2', none: 'E0' };
const seeded = (site: Site) => SEEDED[site ?? 'none']!;

describe('authorization matrix: every role × route and socket event × own / other / no site', function () {
  this.timeout(20_000);
  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeSite(db, { id: 'S2' });
      await db('employees').insert([
        { id: 'E1', name: 'E1', site_id: 'S1', badge: 'B-E1', pin_hash: await hashSecret(PIN) },
        { id: 'E2', name: 'E2', site_id: 'S2', badge: 'B-E2' },
        { id: 'E0', name: 'E0', site_id: null, badge: 'B-E0' },
      ]);
    },
  });
  const tokens = {} as Record<Caller, string | null>;
  const sockets = {} as Record<Exclude<Caller, 'nobody'>, HubSocket>;
  const open: Socket[] = [];
  let pinHash = '';
  let userId = '';
  let n = 0;
  const fresh = (prefix: string) => `${prefix}${++n}`;

  const call = (token: string | null, method: string, path: string, body?: unknown) =>
    api(t.hub, method, path, body, { authorization: token ? `Bearer ${token}` : '' });
  const asAdmin = (method: string, path: string, body?: unknown) => call(tokens.admin, method, path, body);
  const db = () => t.tdb.db;

  /** A new employee at the site, with badge B-<id>, and PIN 4711 if asked. */
  async function employee(site: Site, pin = false): Promise<string> {
    const id = fresh('x');
    await db()('employees').insert({ id, name: id, site_id: site, badge: `B-${id}`, pin_hash: pin ? pinHash : null });
    return id;
  }
  const punched = async (employeeId: string) => (await db()('checkins').where({ employee_id: employeeId })).length > 0;
  // Nothing listens there (the discard port): deliveries and pings fail, which no cell looks at.
  const HOOK = 'http://127.0.0.1:9';
  /** A webhook made by the admin, disabled so that nothing tries to deliver to it meanwhile. */
  async function hook(): Promise<string> {
    const made = await asAdmin('POST', '/api/v1/webhooks', { url: `${HOOK}/${fresh('hook')}` });
    assert.equal(made.status, 201, made.text);
    assert.equal((await asAdmin('PATCH', `/api/v1/webhooks/${made.body.data.id}`, { active: false })).status, 200);
    return made.body.data.id;
  }
  /** A date no other cell uses (holidays are one per site and date). */
  const freshDate = () => new Date(Date.UTC(2030, 0, 1) + ++n * 86_400_000).toISOString().slice(0, 10);
  /** A shift at the site (S1 for no site), made by the admin. */
  async function shift(site: Site): Promise<string> {
    const id = fresh('shift');
    assert.equal((await asAdmin('POST', `/api/v1/sites/${site ?? 'S1'}/shifts`, { id, name: id, start: '09:00', end: '17:00' })).status, 201);
    return id;
  }
  /** An event stream's answer (a refusal's error, or 200); one that opened is closed at once. */
  const streamed = async (token: string | null, query: string): Promise<Sent> => {
    const s = await openStream(t.hub, query, { token });
    s.close();
    return { res: { status: s.status, body: s.body, text: JSON.stringify(s.body ?? null), headers: s.headers } };
  };
  const employeeRow = (id: string) => db()('employees').where({ id }).first();
  const sitesOf = async (ids: string[]): Promise<Site[]> => {
    const rows: Array<{ id: string; site_id: Site }> = await db()('employees').whereIn('id', ids).select('id', 'site_id');
    return ids.map((id) => rows.find((r) => r.id === id)?.site_id ?? null);
  };

  // How each row is exercised for a subject at `site` (S1, S2 or null); the table says what must come of it.
  const drivers: Record<keyof typeof REST, (token: string | null, site: Site) => Promise<Sent>> = {
    'GET /api/v1/attendance/health': async (token) => ({ res: await call(token, 'GET', '/api/v1/attendance/health') }),
    'GET /api/v1/attendance/health/detail': async (token) => ({ res: await call(token, 'GET', '/api/v1/attendance/health/detail') }),
    'POST /api/v1/auth/login': async (token) => ({ res: await call(token, 'POST', '/api/v1/auth/login', { username: 'matrix-manager', password: PASSWORD }) }),

    'POST /api/v1/sites': async (token) => {
      const id = fresh('s');
      return { res: await call(token, 'POST', '/api/v1/sites', { id, name: id }), took: async () => !!(await db()('sites').where({ id }).first()) };
    },
    'GET /api/v1/sites': async (token) => ({ res: await call(token, 'GET', '/api/v1/sites') }),
    'GET /api/v1/sites/:id': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/sites/${site}`) }),
    'PATCH /api/v1/sites/:id': async (token, site) => {
      const name = fresh('name');
      return { res: await call(token, 'PATCH', `/api/v1/sites/${site}`, { name }), took: async () => (await db()('sites').where({ id: site }).first()).name === name };
    },
    'POST /api/v1/sites/:id/deactivate': async (token, site) => ({
      res: await call(token, 'POST', `/api/v1/sites/${site}/deactivate`),
      // Reopened at once: the other cells need their sites open.
      took: async () => {
        const closed = !(await db()('sites').where({ id: site }).first()).active;
        if (closed) assert.equal((await asAdmin('PATCH', `/api/v1/sites/${site}`, { active: true })).status, 200);
        return closed;
      },
    }),

    'POST /api/v1/employees': async (token, site) => {
      const id = fresh('new');
      const res = await call(token, 'POST', '/api/v1/employees', { id, name: id, ...(site ? { siteId: site } : {}) });
      return { res, took: async () => !!(await employeeRow(id)) };
    },
    'GET /api/v1/employees': async (token, site) => {
      const res = await call(token, 'GET', `/api/v1/employees?limit=500${site ? `&siteId=${site}` : ''}`);
      return { res, shows: res.body?.data?.map((e: { siteId: Site }) => e.siteId) };
    },
    'GET /api/v1/employees/:id': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/employees/${seeded(site)}`) }),
    'PATCH /api/v1/employees/:id': async (token, site) => {
      const id = await employee(site);
      const name = fresh('name');
      return { res: await call(token, 'PATCH', `/api/v1/employees/${id}`, { name }), took: async () => (await employeeRow(id)).name === name };
    },
    'PATCH /api/v1/employees/:id · moving an own employee': async (token, site) => {
      const id = await employee('S1');
      const name = fresh('name');
      const res = await call(token, 'PATCH', `/api/v1/employees/${id}`, { siteId: site, name });
      return { res, took: async () => (await employeeRow(id)).name === name };
    },
    'PATCH /api/v1/employees/:id · claiming into own site': async (token, site) => {
      const id = await employee(site);
      const name = fresh('name');
      const res = await call(token, 'PATCH', `/api/v1/employees/${id}`, { siteId: 'S1', name });
      return { res, took: async () => (await employeeRow(id)).name === name };
    },
    'POST /api/v1/employees/:id/deactivate': async (token, site) => {
      const id = await employee(site);
      return { res: await call(token, 'POST', `/api/v1/employees/${id}/deactivate`), took: async () => !(await employeeRow(id)).active };
    },
    'GET /api/v1/badges/:badge': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/badges/B-${seeded(site)}`) }),

    'GET /api/v1/employees/:id/timesheet': async (token, site) => ({
      res: await call(token, 'GET', `/api/v1/employees/${seeded(site)}/timesheet?from=${DAY}&to=${DAY}`),
    }),
    'GET /api/v1/reports/daily': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/reports/daily?siteId=${site}&date=${DAY}`) }),
    'GET /api/v1/reports/summary': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/reports/summary?siteId=${site}&from=${DAY}&to=${DAY}`) }),

    'POST /api/v1/checkins': async (token, site) => {
      const id = await employee(site);
      return { res: await call(token, 'POST', '/api/v1/checkins', { employeeId: id, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins · by badge': async (token, site) => {
      const id = await employee(site);
      return { res: await call(token, 'POST', '/api/v1/checkins', { badge: `B-${id}`, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins · at a named site': async (token, site) => {
      const id = await employee('S1');
      return { res: await call(token, 'POST', '/api/v1/checkins', { employeeId: id, siteId: site, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins · PIN employee, no PIN': async (token, site) => {
      const id = await employee(site, true);
      return { res: await call(token, 'POST', '/api/v1/checkins', { employeeId: id, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins · PIN employee, wrong PIN by id': async (token, site) => {
      const id = await employee(site, true);
      return { res: await call(token, 'POST', '/api/v1/checkins', { employeeId: id, pin: WRONG_PIN, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins · PIN employee, wrong PIN by badge': async (token, site) => {
      const id = await employee(site, true);
      return { res: await call(token, 'POST', '/api/v1/checkins', { badge: `B-${id}`, pin: WRONG_PIN, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins · PIN employee, right PIN by badge': async (token, site) => {
      const id = await employee(site, true);
      return { res: await call(token, 'POST', '/api/v1/checkins', { badge: `B-${id}`, pin: PIN, type: 'in' }), took: () => punched(id) };
    },
    'POST /api/v1/checkins/batch': async (token, site) => {
      const id = await employee(site);
      const res = await call(token, 'POST', '/api/v1/checkins/batch', { punches: [{ employeeId: id, type: 'in' }] });
      const item = res.status === 200 ? res.body.data[0] : undefined;
      return { res, answer: item && `item ${item.status === 'rejected' ? item.error.code : item.status}`, took: () => punched(id) };
    },
    'POST /api/v1/checkins/corrections': async (token, site) => {
      const id = await employee(site);
      const res = await call(token, 'POST', '/api/v1/checkins/corrections', { employeeId: id, type: 'in', occurredAt: '2024-03-01T08:00:00Z', reason: 'badge at home' });
      return { res, took: () => punched(id) };
    },
    'POST /api/v1/checkins/:eventId/void': async (token, site) => {
      const id = await employee(site);
      const stored = await asAdmin('POST', '/api/v1/checkins', { employeeId: id, type: 'in', occurredAt: '2024-03-01T08:00:00Z' });
      assert.equal(stored.status, 201, stored.text);
      const res = await call(token, 'POST', `/api/v1/checkins/${stored.body.data.eventId}/void`, { reason: 'by mistake' });
      return { res, took: async () => (await db()('checkins').where({ event_id: stored.body.data.eventId }).first()).voided_seq !== null };
    },

    'GET /api/v1/sites/:id/shifts': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/sites/${site}/shifts`) }),
    'POST /api/v1/sites/:id/shifts': async (token, site) => {
      const id = fresh('shift');
      const res = await call(token, 'POST', `/api/v1/sites/${site}/shifts`, { id, name: id, start: '09:00', end: '17:00' });
      return { res, took: async () => !!(await db()('shifts').where({ id }).first()) };
    },
    'PATCH /api/v1/sites/:id/shifts/:shiftId': async (token, site) => {
      const id = await shift(site);
      const name = fresh('name');
      const res = await call(token, 'PATCH', `/api/v1/sites/${site}/shifts/${id}`, { name });
      return { res, took: async () => (await db()('shifts').where({ id }).first()).name === name };
    },
    'GET /api/v1/sites/:id/holidays': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/sites/${site}/holidays`) }),
    'POST /api/v1/sites/:id/holidays': async (token, site) => {
      const date = freshDate();
      const res = await call(token, 'POST', `/api/v1/sites/${site}/holidays`, { date, name: 'Closed' });
      return { res, took: async () => !!(await db()('holidays').where({ site_id: site, date }).first()) };
    },
    'DELETE /api/v1/sites/:id/holidays/:date': async (token, site) => {
      const date = freshDate();
      assert.equal((await asAdmin('POST', `/api/v1/sites/${site}/holidays`, { date, name: 'Closed' })).status, 201);
      const res = await call(token, 'DELETE', `/api/v1/sites/${site}/holidays/${date}`);
      return { res, took: async () => !(await db()('holidays').where({ site_id: site, date }).first()) };
    },
    'GET /api/v1/employees/:id/shift-assignments': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/employees/${seeded(site)}/shift-assignments`) }),
    'POST /api/v1/employees/:id/shift-assignments': async (token, site) => {
      const id = await employee(site);
      const res = await call(token, 'POST', `/api/v1/employees/${id}/shift-assignments`, { shiftId: await shift(site), from: DAY });
      return { res, took: async () => !!(await db()('shift_assignments').where({ employee_id: id }).first()) };
    },
    'DELETE /api/v1/employees/:id/shift-assignments/:assignmentId': async (token, site) => {
      const id = await employee(site);
      // An employee with no site can hold no shift: the row it would remove is one that does not exist.
      const made = site ? (await asAdmin('POST', `/api/v1/employees/${id}/shift-assignments`, { shiftId: await shift(site), from: DAY })).body.data.id : '1';
      const res = await call(token, 'DELETE', `/api/v1/employees/${id}/shift-assignments/${made}`);
      return { res, took: async () => site !== null && !(await db()('shift_assignments').where({ employee_id: id }).first()) };
    },
    'GET /api/v1/employees/:id/leave': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/employees/${seeded(site)}/leave`) }),
    'POST /api/v1/employees/:id/leave': async (token, site) => {
      const id = await employee(site);
      const res = await call(token, 'POST', `/api/v1/employees/${id}/leave`, { kind: 'vacation', from: DAY, to: DAY });
      return { res, took: async () => !!(await db()('leave').where({ employee_id: id }).first()) };
    },
    'DELETE /api/v1/employees/:id/leave/:leaveId': async (token, site) => {
      const id = await employee(site);
      const made = await asAdmin('POST', `/api/v1/employees/${id}/leave`, { kind: 'sick', from: DAY, to: DAY });
      assert.equal(made.status, 201, made.text);
      const res = await call(token, 'DELETE', `/api/v1/employees/${id}/leave/${made.body.data.id}`);
      return { res, took: async () => !(await db()('leave').where({ employee_id: id }).first()) };
    },

    'GET /api/v1/checkins': async (token, site) => {
      const res = await call(token, 'GET', `/api/v1/checkins?limit=1000${site ? `&siteId=${site}` : ''}`);
      return { res, shows: res.body?.data?.map((c: { siteId: Site }) => c.siteId) };
    },
    'GET /api/v1/checkins · ?employeeId=': async (token, site) => {
      const res = await call(token, 'GET', `/api/v1/checkins?employeeId=${seeded(site)}`);
      return { res, shows: res.body?.data?.map((c: { siteId: Site }) => c.siteId) };
    },
    'GET /api/v1/presence': async (token, site) => {
      const res = await call(token, 'GET', `/api/v1/presence?siteId=${site}`);
      return { res, shows: Array.isArray(res.body?.data) ? await sitesOf(res.body.data.map((p: { employeeId: string }) => p.employeeId)) : undefined };
    },
    'GET /api/v1/events/stream': (token, site) => streamed(token, `?sites=${site}`),
    'GET /api/v1/events/stream · no filter': (token) => streamed(token, ''),

    'POST /api/v1/attendance/create': async (token, site) => {
      const id = await employee(site);
      const res = await call(token, 'POST', '/api/v1/attendance/create', { id, name: id, status: 'present', date: DAY });
      return { res, took: async () => !!(await db()('records').where({ employee_id: id }).first()) };
    },
    'GET /api/v1/attendance/search': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/attendance/search?id=${seeded(site)}`) }),
    'GET /api/v1/attendance/search/all': async (token) => {
      const res = await call(token, 'GET', '/api/v1/attendance/search/all');
      return { res, shows: Array.isArray(res.body) ? await sitesOf(res.body.map((r: { id: string }) => r.id)) : undefined };
    },

    'POST /api/v1/tokens': async (token, site) => {
      const name = fresh('token');
      const res = await call(token, 'POST', '/api/v1/tokens', { name, role: 'dashboard', sites: [site] });
      return { res, took: async () => !!(await db()('api_tokens').where({ name }).first()) };
    },
    'GET /api/v1/tokens': async (token) => ({ res: await call(token, 'GET', '/api/v1/tokens') }),
    'DELETE /api/v1/tokens/:id': async (token, site) => {
      const victim = (await asAdmin('POST', '/api/v1/tokens', { name: fresh('victim'), role: 'dashboard', sites: [site] })).body.data;
      const res = await call(token, 'DELETE', `/api/v1/tokens/${victim.id}`);
      return { res, took: async () => (await db()('api_tokens').where({ id: victim.id }).first()).revoked_at !== null };
    },
    'POST /api/v1/users': async (token, site) => {
      const username = fresh('user');
      const res = await call(token, 'POST', '/api/v1/users', { username, name: username, password: PASSWORD, role: 'manager', sites: [site] });
      return { res, took: async () => !!(await db()('users').where({ username }).first()) };
    },
    'GET /api/v1/users': async (token) => ({ res: await call(token, 'GET', '/api/v1/users') }),
    'GET /api/v1/users/:id': async (token) => ({ res: await call(token, 'GET', `/api/v1/users/${userId}`) }),
    'PATCH /api/v1/users/:id': async (token) => {
      const name = fresh('name');
      return { res: await call(token, 'PATCH', `/api/v1/users/${userId}`, { name }), took: async () => (await db()('users').where({ id: userId }).first()).name === name };
    },
    'GET /api/v1/audit': async (token) => ({ res: await call(token, 'GET', '/api/v1/audit') }),

    'POST /api/v1/imports/employees': async (token, site) => {
      const id = fresh('imported');
      const res = await api(t.hub, 'POST', '/api/v1/imports/employees', `id,name,siteId\n${id},${id},${site ?? ''}\n`, {
        'content-type': 'text/csv',
        authorization: token ? `Bearer ${token}` : '',
      });
      return { res, took: async () => !!(await employeeRow(id)) };
    },
    'GET /api/v1/exports/checkins': async (token, site) => {
      // Yesterday to tomorrow (UTC dates): the check-ins the set-up made today, at every site, whatever its zone.
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const res = await call(token, 'GET', `/api/v1/exports/checkins?from=${day(-1)}&to=${day(1)}${site ? `&siteId=${site}` : ''}&format=json`);
      if (res.status === 200 && !site) assert.ok(res.body.data.length > 0, 'the export shows the check-ins in reach');
      return { res, shows: res.body?.data?.map((c: { siteId: Site }) => c.siteId) };
    },
    'GET /api/v1/exports/attendance': async (token, site) => ({ res: await call(token, 'GET', `/api/v1/exports/attendance?siteId=${site}&from=${DAY}&to=${DAY}`) }),

    'POST /api/v1/webhooks': async (token) => {
      const url = `${HOOK}/${fresh('made')}`;
      const res = await call(token, 'POST', '/api/v1/webhooks', { url });
      return { res, took: async () => !!(await db()('webhooks').where({ url }).first()) };
    },
    'GET /api/v1/webhooks': async (token) => ({ res: await call(token, 'GET', '/api/v1/webhooks') }),
    'GET /api/v1/webhooks/:id': async (token) => ({ res: await call(token, 'GET', `/api/v1/webhooks/${await hook()}`) }),
    'PATCH /api/v1/webhooks/:id': async (token) => {
      const id = await hook();
      const url = `${HOOK}/${fresh('moved')}`;
      return { res: await call(token, 'PATCH', `/api/v1/webhooks/${id}`, { url }), took: async () => (await db()('webhooks').where({ id }).first()).url === url };
    },
    'DELETE /api/v1/webhooks/:id': async (token) => {
      const id = await hook();
      return { res: await call(token, 'DELETE', `/api/v1/webhooks/${id}`), took: async () => !(await db()('webhooks').where({ id }).first()) };
    },
    'POST /api/v1/webhooks/:id/ping': async (token) => {
      const id = await hook();
      return { res: await call(token, 'POST', `/api/v1/webhooks/${id}/ping`), took: async () => !!(await db()('webhook_deliveries').where({ webhook_id: id }).first()) };
    },
    'GET /api/v1/webhooks/:id/deliveries': async (token) => ({ res: await call(token, 'GET', `/api/v1/webhooks/${await hook()}/deliveries`) }),
    'POST /api/v1/webhooks/:id/redeliver': async (token) => {
      const id = await hook();
      return { res: await call(token, 'POST', `/api/v1/webhooks/${id}/redeliver`, { fromSeq: 1 }), took: async () => Number((await db()('webhooks').where({ id }).first()).delivered_through) === 0 };
    },

    'GET /api/v1/auth/me': async (token) => ({ res: await call(token, 'GET', '/api/v1/auth/me') }),
    'POST /api/v1/auth/logout': async (token) => ({ res: await call(token, 'POST', '/api/v1/auth/logout') }),
  };

  const answerOf = (sent: Sent) =>
    sent.answer ?? (sent.res.status < 300 ? String(sent.res.status) : [sent.res.status, sent.res.body?.error?.code].filter(Boolean).join(' '));

  /** One cell: the answer as the table writes it, whether a write took effect exactly when allowed, and nothing shown out of reach. */
  async function restCell(key: keyof typeof REST, token: string | null, site: Site, outcome: string, reachesAll: boolean) {
    const sent = await drivers[key](token, site);
    const got = { answer: answerOf(sent), ...(sent.took && { tookEffect: await sent.took() }) };
    assert.deepEqual(got, { answer: outcome, ...(sent.took && { tookEffect: allows(outcome) }) }, sent.res.text.slice(0, 300));
    if (!reachesAll && sent.shows) assert.deepEqual(sent.shows.filter((s) => s !== 'S1'), [], 'shows something out of reach');
  }

  function connect(token: string | null): Promise<HubSocket> {
    const socket: HubSocket = io(t.hub.url, { forceNew: true, reconnection: false, ...(token ? { auth: { token } } : {}) });
    open.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }
  const refusal = (token: string | null) =>
    connect(token).then(
      () => assert.fail('connected'),
      (err: Error & { data?: { code: string } }) => ({ message: err.message, code: err.data?.code }),
    );
  const ackOf = (ack: SubscribeAck | { ok: false; error: { code: string } } | { ok: true }) => (ack.ok ? 'ok' : ack.error.code);
  const subscribe = (socket: HubSocket, request: SubscribeRequest) => socket.timeout(5000).emitWithAck('subscribe', request);

  const socketDrivers: Record<keyof typeof SOCKET, (socket: HubSocket, site: Site) => Promise<{ answer: string; took?: () => Promise<boolean> }>> = {
    'subscribe · sites filter': async (socket, site) => ({ answer: ackOf(await subscribe(socket, { sites: [site!] })) }),
    'subscribe · employees filter': async (socket, site) => ({ answer: ackOf(await subscribe(socket, { employees: [seeded(site)] })) }),
    'subscribe · no filter': async (socket) => ({ answer: ackOf(await subscribe(socket, {})) }),
    checkin: async (socket, site) => {
      const id = await employee(site);
      return { answer: ackOf(await socket.timeout(5000).emitWithAck('checkin', { employeeId: id, type: 'in' })), took: () => punched(id) };
    },
    'checkin · PIN employee, no PIN': async (socket, site) => {
      const id = await employee(site, true);
      return { answer: ackOf(await socket.timeout(5000).emitWithAck('checkin', { employeeId: id, type: 'in' })), took: () => punched(id) };
    },
  };

  before(async () => {
    pinHash = await hashSecret(PIN);
    tokens.admin = await t.hub.token('admin');
    for (const role of ['manager', 'kiosk', 'dashboard'] as const) tokens[role] = await t.hub.token(role, ['S1']);
    tokens.nobody = null;
    for (const id of ['E1', 'E2', 'E0']) {
      assert.equal((await asAdmin('POST', '/api/v1/checkins', { employeeId: id, type: 'in' })).status, 201);
      assert.equal((await asAdmin('POST', '/api/v1/attendance/create', { id, name: id, status: 'present', date: DAY })).status, 200);
    }
    const user = await asAdmin('POST', '/api/v1/users', { username: 'matrix-manager', name: 'Matrix', password: PASSWORD, role: 'manager', sites: ['S1'] });
    assert.equal(user.status, 201, user.text);
    userId = user.body.data.id;
    for (const role of ['admin', 'manager', 'kiosk', 'dashboard'] as const) sockets[role] = await connect(tokens[role]);
  });
  after(() => open.forEach((s) => s.close()));

  it('the table names every route the hub mounts', () => {
    const body: Middleware = async (_ctx, next) => next();
    const cookie = { secure: false };
    const none = {} as never;
    const routers = [
      healthRouter({ health: none }),
      loginRouter({ sessions: none, body, cookie }),
      attendanceRouter({ records: none, body }),
      checkinsRouter({ checkins: none, body }),
      sitesRouter({ sites: none, body }),
      employeesRouter({ employees: none, body }),
      presenceRouter({ presence: none }),
      eventsRouter({ follow: none, sse: none }),
      reportsRouter({ reports: none }),
      scheduleRouter({ schedule: none, body }),
      authRouter({ sessions: none, cookie }),
      tokensRouter({ tokens: none, body }),
      usersRouter({ users: none, body }),
      webhooksRouter({ webhooks: none, body }),
      bulkRouter({ imports: none, checkins: none, reports: none, csvBody: body }),
      auditRouter({ audit: none }),
    ];
    const mounted = routers.flatMap((r) => r.stack.filter((l) => l.methods.length).map((l) => `${l.methods.at(-1)} ${l.path}`));
    const named = new Set(Object.keys(REST).map((key) => key.split(' · ')[0]));
    assert.deepEqual([...named].sort(), mounted.sort());
  });

  describe('REST', () => {
    for (const [key, row] of Object.entries(REST) as Array<[keyof typeof REST, (typeof REST)[keyof typeof REST]]>) {
      describe(key, () => {
        for (const caller of CALLERS)
          for (const { index, label, outcome } of cellsOf(row, caller))
            it(`${caller}${label && ` · ${label}`} → ${outcome}`, () => restCell(key, tokens[caller], SITE_OF[index] ?? null, outcome, caller === 'admin'));
      });
    }
  });

  describe('sockets', () => {
    for (const [key, row] of Object.entries(SOCKET) as Array<[keyof typeof SOCKET, (typeof SOCKET)[keyof typeof SOCKET]]>) {
      describe(key, () => {
        for (const caller of ['admin', 'manager', 'kiosk', 'dashboard'] as const)
          for (const { index, label, outcome } of cellsOf(row, caller))
            it(`${caller}${label && ` · ${label}`} → ${outcome}`, async () => {
              const sent = await socketDrivers[key](sockets[caller], SITE_OF[index] ?? null);
              const got = { answer: sent.answer, ...(sent.took && { tookEffect: await sent.took() }) };
              assert.deepEqual(got, { answer: outcome, ...(sent.took && { tookEffect: allows(outcome) }) });
            });
      });
    }

    it('a handshake without credentials is refused unauthenticated', async () => {
      assert.deepEqual(await refusal(null), { message: 'unauthenticated', code: 'unauthenticated' });
    });
  });

  // Roles whose unfiltered subscribe the table allows, admins aside (they see every site).
  const watchers = (['manager', 'dashboard'] as const).filter((role) => allows(cellsOf(SOCKET['subscribe · no filter'], role)[0]!.outcome));

  describe('delivery to a socket scoped to S1', () => {
    type Watch = { ack: Extract<SubscribeAck, { ok: true }>; events: LiveEvent[] };
    async function watch(token: string, request: SubscribeRequest): Promise<Watch> {
      const socket = await connect(token);
      const events: LiveEvent[] = [];
      // Named messages by default, one `events` message per commit when packed: both are taken.
      socket.onAny((name: string, arg: LiveEvent | LiveEvent[]) => events.push(...(name === 'events' ? (arg as LiveEvent[]) : [arg as LiveEvent])));
      const ack = await subscribe(socket, request);
      assert.ok(ack.ok, JSON.stringify(ack));
      return { ack, events };
    }
    const punch = async (body: object) => {
      const res = await asAdmin('POST', '/api/v1/checkins', body);
      assert.equal(res.status, 201, res.text);
      return res.body.data.seq as number;
    };
    const record = async (id: string, date: string) => assert.equal((await asAdmin('POST', '/api/v1/attendance/create', { id, name: id, status: 'present', date })).status, 200);

    for (const role of watchers)
      it(`${role}: S1's events arrive, S2's and siteless ones never — live, replayed after since, in the presence snapshot, through an employee filter`, async () => {
        const since = Number((await db()('events').max('seq as head').first())!.head);
        const [own, other, siteless, wanderer, sentinel] = [await employee('S1'), await employee('S2'), await employee(null), await employee('S1'), await employee('S1')];
        // Before the subscribes: replayed. The wanderer belongs to S1 but checks in at S2.
        await punch({ employeeId: own, type: 'in' });
        await punch({ employeeId: other, type: 'in' });
        await punch({ employeeId: siteless, type: 'in' });
        await punch({ employeeId: wanderer, siteId: 'S2', type: 'in' });
        await record(other, DAY);

        const token = tokens[role]!;
        const scoped = {
          'no filter': await watch(token, { since }),
          'no filter, packed': await watch(token, { since, packed: true }),
          'sites filter': await watch(token, { sites: ['S1'], since }),
          'employees filter': await watch(token, { employees: [own, other, siteless, wanderer, sentinel], since }),
        };
        const control = await watch(tokens.admin!, { since });

        // After the subscribes: live. Delivery is in seq order, so the sentinel comes after all of it.
        await punch({ employeeId: other, type: 'out' });
        await punch({ employeeId: siteless, type: 'out' });
        await punch({ employeeId: wanderer, type: 'out' });
        await record(other, '2024-03-02');
        await punch({ employeeId: own, type: 'out' });
        const last = await punch({ employeeId: sentinel, type: 'in' });
        for (const w of [...Object.values(scoped), control]) await until(() => w.events.some((e) => e.seq === last), 5000, 'the sentinel');

        // The S2 and siteless events were there to be sent: an admin got them, replayed and live.
        const elsewhere = (w: Watch) => w.events.filter((e) => e.siteId !== 'S1');
        for (const id of [other, siteless, wanderer]) {
          assert.ok(elsewhere(control).some((e) => e.employeeId === id && e.seq <= control.ack.seq), `admin replay of ${id}`);
          assert.ok(elsewhere(control).some((e) => e.employeeId === id && e.seq > control.ack.seq), `admin live ${id}`);
        }
        for (const [name, w] of Object.entries(scoped)) {
          assert.deepEqual(elsewhere(w), [], `${name}: events of other sites or none`);
          assert.ok(w.events.some((e) => e.employeeId === own && e.seq <= w.ack.seq), `${name}: S1 replayed`);
          assert.ok(w.events.some((e) => e.employeeId === own && e.seq > w.ack.seq), `${name}: S1 live`);
          assert.deepEqual(Object.keys(w.ack.presence).filter((site) => site !== 'S1'), [], `${name}: snapshot of other sites`);
          const present = Object.values(w.ack.presence).flat().map((p) => p.employeeId);
          assert.deepEqual(present.filter((id) => [other, siteless, wanderer].includes(id)), [], `${name}: snapshot shows out of reach`);
        }
        assert.ok(scoped['no filter'].ack.presence.S1?.some((p) => p.employeeId === own), 'snapshot shows S1');
      });
  });

  describe('a revoked token', () => {
    let token = '';
    let closed = false;
    before(async () => {
      const created = (await asAdmin('POST', '/api/v1/tokens', { name: 'to revoke', role: 'admin' })).body.data;
      token = created.token;
      // In use when revoked: held in the authentication cache, with a socket open.
      assert.equal((await call(token, 'GET', '/api/v1/auth/me')).status, 200);
      const socket = await connect(token);
      socket.once('disconnect', () => (closed = true));
      assert.equal((await asAdmin('DELETE', `/api/v1/tokens/${created.id}`)).status, 200);
    });

    it('its open socket is closed within a few seconds, and a new one refused', async () => {
      await until(() => closed, 5000, 'the socket to close');
      assert.deepEqual(await refusal(token), { message: 'unauthenticated', code: 'unauthenticated' });
    });
    sweep(() => token);
  });

  describe('an expired token', () => {
    let token = '';
    before(async () => {
      token = await t.hub.token('admin', [], { name: 'to expire' });
      await db()('api_tokens').where({ name: 'to expire' }).update({ expires_at: new Date(Date.now() - 60_000) });
    });

    it('a socket is refused', async () => {
      assert.deepEqual(await refusal(token), { message: 'unauthenticated', code: 'unauthenticated' });
    });
    sweep(() => token);
  });

  /** Every route answers an admin token that is no longer good exactly as it answers no credentials. */
  function sweep(token: () => string) {
    for (const [key, row] of Object.entries(REST) as Array<[keyof typeof REST, (typeof REST)[keyof typeof REST]]>)
      for (const { index, label, outcome } of cellsOf(row, 'nobody'))
        it(`${key}${label && ` · ${label}`} → ${outcome}`, () => restCell(key, token(), SITE_OF[index] ?? null, outcome, false));
  }
});
