import type Router from '@koa/router';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import Koa from 'koa';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { makeUser, session } from './support/signin.js';
import { firstMessage } from './support/sse.js';
import { startReceiver } from './support/receiver.js';

type Answer = { description: string; content?: Record<string, { schema: object }> };
type OperationDoc = { operationId: string; responses: Record<string, Answer>; security?: object[] };
type Doc = {
  openapi: string;
  security: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, OperationDoc>>;
  components: { schemas: Record<string, object>; securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
};

const DOC_ID = 'https://attendance-hub.invalid/openapi.json';
const PASSWORD = 'a long enough passphrase';

/** "#/paths/~1api~1v1~1sites~1{id}/get" as a URI fragment ajv resolves (it decodes, then unescapes). */
const pointer = (...segments: string[]) => `${DOC_ID}#/${segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

/** "GET /api/v1/sites/{id}" for each route the app's routers match (HEAD comes with GET). */
function routesOf(app: Koa): Set<string> {
  const routes = new Set<string>();
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: Router }).router;
    for (const layer of router?.stack ?? []) {
      for (const method of layer.methods) {
        if (method === 'HEAD' && layer.methods.includes('GET')) continue;
        routes.add(`${method} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return routes;
}

/**
 * The OpenAPI document against the hub itself: its shape, the routers' routes both ways, and a real
 * request (or several) for every documented operation, each answer validated against the document.
 */
describe('OpenAPI document and /apidocs', () => {
  let tdb: TestDatabase;
  let hub: TestHub;
  let app: Koa;
  let doc: Doc;
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  // A CommonJS module: Node's default import is its module.exports, which TypeScript types as the namespace.
  ajvFormats.default(ajv);
  // The document is added whole, so that its "#/components/…" refs resolve; its own fields are not schema keywords.
  ajv.addVocabulary(['openapi', 'info', 'tags', 'security', 'paths', 'components']);
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (ref: string) => validators.get(ref) ?? validators.set(ref, ajv.compile({ $ref: ref })).get(ref)!;

  before(async () => {
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1', timeZone: 'Europe/Berlin' });
    await makeSite(tdb.db, { id: 'S2' });
    await makeEmployee(tdb.db, { id: 'E1', name: 'Ann', siteId: 'S1' });
    await makeEmployee(tdb.db, { id: 'E2', name: 'Bob', siteId: 'S2' });
    // The app the hub serves with, as its routers hold the routes: Koa apps hand out their callback once, at start-up.
    const callback = Koa.prototype.callback;
    Koa.prototype.callback = function (this: Koa) {
      app = this;
      return callback.call(this);
    };
    try {
      hub = await startTestHub({ db: tdb.db });
    } finally {
      Koa.prototype.callback = callback;
    }
    const res = await fetch(`${hub.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as Doc;
    ajv.addSchema({ ...doc, $id: DOC_ID });
  });

  after(async () => {
    await hub?.stop();
    await tdb?.drop();
  });

  const operations = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })));

  describe('the document', () => {
    it('is OpenAPI 3.1, with the security schemes and a response for every operation', () => {
      assert.match(doc.openapi, /^3\.1\.\d+$/);
      const schemes = doc.components.securitySchemes;
      assert.deepEqual(schemes.apiToken && { type: schemes.apiToken.type, scheme: schemes.apiToken.scheme }, { type: 'http', scheme: 'bearer' });
      assert.deepEqual(schemes.jwt && { type: schemes.jwt.type, scheme: schemes.jwt.scheme }, { type: 'http', scheme: 'bearer' });
      assert.deepEqual(schemes.session && { type: schemes.session.type, in: schemes.session.in, name: schemes.session.name }, { type: 'apiKey', in: 'cookie', name: 'hub_session' });
      // Credentials by default: any one scheme will do.
      assert.deepEqual(doc.security, [{ apiToken: [] }, { jwt: [] }, { session: [] }]);
      const ids = new Set<string>();
      for (const { key, op } of operations()) {
        assert.ok(Object.keys(op.responses).some((s) => /^[23]\d\d$/.test(s)), `${key} documents a success`);
        assert.ok(op.responses.default, `${key} documents its other errors`);
        assert.ok(!ids.has(op.operationId), `${key}: operationId ${op.operationId} is unique`);
        ids.add(op.operationId);
      }
    });

    it('marks exactly the health checks, sign-in, pages and docs as open', () => {
      const open = operations()
        .filter(({ op }) => Array.isArray(op.security) && op.security.length === 0)
        .map(({ key }) => key)
        .sort();
      assert.deepEqual(open, [
        'GET /api/v1/attendance/health',
        'GET /api/v1/attendance/health/detail',
        'GET /api/v1/openapi.json',
        'GET /apidocs',
        'GET /apidocs/{file}',
        'GET /assets/{file}',
        'GET /dashboard',
        'GET /health/live',
        'GET /health/ready',
        'GET /kiosk',
        'GET /kiosk-sw.js',
        'POST /api/v1/auth/login',
      ]);
    });

    it('holds only schemas that compile as JSON Schema 2020-12, under strict rules', () => {
      let count = 0;
      for (const { path, method, op } of operations()) {
        for (const [status, answer] of Object.entries(op.responses)) {
          for (const type of Object.keys(answer.content ?? {})) {
            validatorFor(pointer('paths', path, method, 'responses', status, 'content', type, 'schema'));
            count++;
          }
        }
      }
      for (const name of Object.keys(doc.components.schemas)) validatorFor(pointer('components', 'schemas', name));
      assert.ok(count > 100, `${count} response schemas`);
    });

    it('holds answers to their schemas strictly: a field too many, too few or of another type fails', async () => {
      const validate = validatorFor(pointer('paths', '/api/v1/sites/{id}', 'get', 'responses', '200', 'content', 'application/json', 'schema'));
      const site = (await (await fetch(`${hub.url}/api/v1/sites/S1`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).json()) as { data: Record<string, unknown> };
      assert.ok(validate(site), ajv.errorsText(validate.errors));
      const { active: _, ...withoutActive } = site.data;
      for (const data of [{ ...site.data, secret: 'x' }, withoutActive, { ...site.data, active: 'yes' }]) assert.equal(validate({ data }), false, JSON.stringify(data));
    });

    it('is made once, at start-up: every request gets the same bytes, without credentials', async () => {
      const [a, b] = await Promise.all([fetch(`${hub.url}/api/v1/openapi.json`), fetch(`${hub.url}/api/v1/openapi.json`)]);
      assert.equal(a.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(await a.text(), await b.text());
    });
  });

  it('documents every route the routers serve, and no route they do not', () => {
    const served = routesOf(app);
    const documented = new Set(operations().map(({ key }) => key));
    assert.ok(served.size > 30, `${served.size} routes found in the routers`);
    assert.deepEqual([...served].filter((r) => !documented.has(r)).sort(), [], 'served but not documented');
    assert.deepEqual([...documented].filter((r) => !served.has(r)).sort(), [], 'documented but not served');
  });

  describe('every documented operation answers as documented', () => {
    const called = new Set<string>();
    let tokens: Record<'manager' | 'kiosk' | 'dashboard', string>;
    let cookie: string;
    const today = new Date().toISOString().slice(0, 10);

    before(async () => {
      tokens = { manager: await hub.token('manager', ['S1']), kiosk: await hub.token('kiosk', ['S1']), dashboard: await hub.token('dashboard', ['S1']) };
      await makeUser(hub, { username: 'mia', password: PASSWORD, sites: ['S1'] });
      cookie = `hub_session=${await session(hub, 'mia', PASSWORD)}`;
    });

    /**
     * Sends the request for the operation `key` ("POST /api/v1/sites/{id}") to `url` and checks the
     * answer against the document: the status is documented (an error may fall to `default`), the
     * media type too, and a JSON body matches its schema. `as`: a role's token, 'nobody', or headers.
     */
    async function call(key: string, url: string, opts: { body?: unknown; as?: keyof typeof tokens | 'admin' | 'nobody'; headers?: Record<string, string> } = {}) {
      const [method, template] = key.split(' ') as [string, string];
      const op = doc.paths[template]?.[method.toLowerCase()];
      assert.ok(op, `${key} is documented`);
      const as = opts.as ?? 'admin';
      const headers: Record<string, string> = { ...opts.headers };
      if (as !== 'nobody' && !headers.cookie) headers.authorization = `Bearer ${as === 'admin' ? hub.adminToken : tokens[as]}`;
      if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(hub.url + url, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) });
      const type = res.headers.get('content-type')?.split(';')[0]!.trim();
      // An event stream does not end: its first message is what is checked, and the rest is left unread.
      const text = type === 'text/event-stream' ? await firstMessage(res) : await res.text();
      const status = String(res.status);
      const answer = op.responses[status] ?? (res.status >= 400 ? op.responses.default : undefined);
      assert.ok(answer, `${key} answered ${status}, which it does not document: ${text.slice(0, 300)}`);
      const documented = op.responses[status] ? status : 'default';
      if (!answer.content) {
        assert.equal(text, '', `${key} ${status} documents no body`);
      } else {
        assert.ok(type && answer.content[type], `${key} ${status} answered ${type}, documented: ${Object.keys(answer.content)}`);
        if (type === 'application/json') {
          const validate = validatorFor(pointer('paths', template, method.toLowerCase(), 'responses', documented, 'content', type, 'schema'));
          const body = JSON.parse(text);
          assert.ok(validate(body), `${key} ${status}: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 500)}`);
        }
      }
      called.add(key);
      return { status: res.status, headers: res.headers, text, body: type === 'application/json' ? JSON.parse(text) : undefined };
    }

    it('the older API', async () => {
      const create = 'POST /api/v1/attendance/create';
      assert.equal((await call(create, '/api/v1/attendance/create', { body: { id: 'E1', name: 'Ann', status: 'present', date: today } })).status, 200);
      assert.equal((await call(create, '/api/v1/attendance/create', { body: { id: 'E1', name: 'Ann', status: 'present', date: 'yesterday' } })).status, 400);
      assert.equal((await call(create, '/api/v1/attendance/create', { body: '{"id":', as: 'manager' })).status, 400);
      assert.equal((await call(create, '/api/v1/attendance/create', { body: { id: 'E1', name: 'Ann', status: 'present', date: today }, as: 'kiosk' })).status, 403);
      assert.equal((await call(create, '/api/v1/attendance/create', { body: { id: 'E1', name: 'Ann', status: 'present', date: today }, as: 'nobody' })).status, 401);
      const search = 'GET /api/v1/attendance/search';
      assert.equal((await call(search, '/api/v1/attendance/search?id=E1')).body.status, 'present');
      assert.equal((await call(search, '/api/v1/attendance/search')).status, 400);
      assert.equal((await call(search, '/api/v1/attendance/search?id=NOBODY')).status, 404);
      assert.equal((await call(search, '/api/v1/attendance/search?id=E1', { as: 'dashboard' })).status, 403);
      assert.equal((await call('GET /api/v1/attendance/search/all', '/api/v1/attendance/search/all')).body.length, 1);
      assert.equal((await call('GET /api/v1/attendance/search/all', '/api/v1/attendance/search/all', { as: 'kiosk' })).status, 403);
      assert.equal((await call('GET /api/v1/attendance/health', '/api/v1/attendance/health', { as: 'nobody' })).status, 200);
      assert.equal((await call('GET /api/v1/attendance/health/detail', '/api/v1/attendance/health/detail', { as: 'nobody' })).body.status, 'up');
    });

    it('check-ins and presence', async () => {
      const punch = 'POST /api/v1/checkins';
      const eventId = randomUUID();
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E1', type: 'in', eventId }, as: 'kiosk' })).status, 201);
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E1', type: 'in', eventId }, as: 'kiosk' })).status, 200);
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E1', type: 'in' }, as: 'kiosk' })).body.error.code, 'already_checked_in');
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E1', type: 'sideways' } })).body.error.code, 'validation_failed');
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E1', type: 'out' }, headers: { 'idempotency-key': 'k'.repeat(256) } })).status, 400);
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'NOBODY', type: 'in' } })).body.error.code, 'unknown_employee');
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E2', type: 'in' }, as: 'kiosk' })).status, 403);
      assert.equal((await call(punch, '/api/v1/checkins', { body: { employeeId: 'E1', type: 'in' }, as: 'nobody' })).body.error.code, 'unauthenticated');
      const batch = await call('POST /api/v1/checkins/batch', '/api/v1/checkins/batch', { body: { punches: [{ employeeId: 'E1', type: 'out' }, { employeeId: 'E1', type: 'nope' }] }, as: 'kiosk' });
      assert.deepEqual(batch.body.data.map((r: { status: string }) => r.status), ['created', 'rejected']);
      assert.equal((await call('POST /api/v1/checkins/batch', '/api/v1/checkins/batch', { body: { punches: [] } })).status, 400);
      const correct = 'POST /api/v1/checkins/corrections';
      const added = await call(correct, '/api/v1/checkins/corrections', { body: { employeeId: 'E1', type: 'in', occurredAt: '2024-03-01T08:00:00Z', reason: 'forgot' }, as: 'manager' });
      assert.equal(added.status, 201);
      assert.equal((await call(correct, '/api/v1/checkins/corrections', { body: { employeeId: 'E1', type: 'in', occurredAt: '2024-03-01T08:00:00Z' } })).status, 400);
      assert.equal((await call(correct, '/api/v1/checkins/corrections', { body: { employeeId: 'E1', type: 'in', occurredAt: '2024-03-01T09:00:00Z', reason: 'x' } })).body.error.code, 'already_checked_in');
      assert.equal((await call(correct, '/api/v1/checkins/corrections', { body: { employeeId: 'E1', type: 'out', occurredAt: '2024-03-01T17:00:00Z', reason: 'x' }, as: 'kiosk' })).status, 403);
      const voiding = 'POST /api/v1/checkins/{eventId}/void';
      assert.equal((await call(voiding, `/api/v1/checkins/${added.body.data.eventId}/void`, { body: { reason: 'wrong day' }, as: 'manager' })).body.data.voided.reason, 'wrong day');
      assert.equal((await call(voiding, `/api/v1/checkins/${added.body.data.eventId}/void`, { body: { reason: 'again' } })).body.error.code, 'already_voided');
      assert.equal((await call(voiding, `/api/v1/checkins/${randomUUID()}/void`, { body: { reason: 'x' } })).body.error.code, 'checkin_not_found');
      assert.equal((await call(voiding, `/api/v1/checkins/${added.body.data.eventId}/void`, { body: {} })).status, 400);
      const list = await call('GET /api/v1/checkins', '/api/v1/checkins?siteId=S1&limit=1', { as: 'dashboard' });
      assert.equal(list.body.next, String(list.body.data[0].seq));
      assert.equal((await call('GET /api/v1/checkins', '/api/v1/checkins?siteId=S2', { as: 'dashboard' })).status, 403);
      assert.deepEqual((await call('GET /api/v1/presence', '/api/v1/presence?siteId=S1', { as: 'dashboard' })).body.data, []);
      assert.equal((await call('GET /api/v1/presence', '/api/v1/presence')).status, 400);
    });

    it('the event stream', async () => {
      const stream = 'GET /api/v1/events/stream';
      const opened = await call(stream, '/api/v1/events/stream?sites=S1', { as: 'dashboard' });
      assert.match(opened.text, /^id: (\d+)\nevent: ready\ndata: \{"seq":\1\}\n\n$/);
      assert.equal((await call(stream, '/api/v1/events/stream?since=x')).status, 400);
      assert.equal((await call(stream, '/api/v1/events/stream?sites=S2', { as: 'dashboard' })).status, 403);
      assert.equal((await call(stream, '/api/v1/events/stream?sites=S9')).body.error.code, 'site_not_found');
      // As if the first event had been pruned (test/sse.test.ts prunes for real).
      await tdb.db('event_retention').where({ id: 1 }).update({ pruned_through: 1 });
      try {
        assert.equal((await call(stream, '/api/v1/events/stream?since=0')).body.error.code, 'since_pruned');
      } finally {
        await tdb.db('event_retention').where({ id: 1 }).update({ pruned_through: 0 });
      }
    });

    it('sites', async () => {
      assert.equal((await call('POST /api/v1/sites', '/api/v1/sites', { body: { id: 'S3', name: 'Third', timeZone: 'America/New_York' } })).status, 201);
      assert.equal((await call('POST /api/v1/sites', '/api/v1/sites', { body: { id: 'S3', name: 'Third' } })).body.error.code, 'site_exists');
      assert.equal((await call('POST /api/v1/sites', '/api/v1/sites', { body: { id: 'S4', name: 'Fourth' }, as: 'manager' })).status, 403);
      assert.equal((await call('GET /api/v1/sites', '/api/v1/sites?limit=2')).body.next, 'S2');
      assert.equal((await call('GET /api/v1/sites', '/api/v1/sites?limit=0')).status, 400);
      assert.equal((await call('GET /api/v1/sites/{id}', '/api/v1/sites/S1', { as: 'dashboard' })).body.data.timeZone, 'Europe/Berlin');
      assert.equal((await call('GET /api/v1/sites/{id}', '/api/v1/sites/S9')).body.error.code, 'site_not_found');
      assert.equal((await call('PATCH /api/v1/sites/{id}', '/api/v1/sites/S3', { body: { name: 'Third site' } })).body.data.name, 'Third site');
      assert.equal((await call('PATCH /api/v1/sites/{id}', '/api/v1/sites/S3', { body: {} })).status, 400);
      assert.equal((await call('POST /api/v1/sites/{id}/deactivate', '/api/v1/sites/S3/deactivate')).body.data.active, false);
      assert.equal((await call('POST /api/v1/sites/{id}/deactivate', '/api/v1/sites/S9/deactivate')).status, 404);
    });

    it('employees and badges', async () => {
      const created = await call('POST /api/v1/employees', '/api/v1/employees', { body: { id: 'E3', name: 'Cleo', siteId: 'S1', badge: 'B3', pin: '1234' }, as: 'manager' });
      assert.equal(created.body.data.hasPin, true);
      assert.equal((await call('POST /api/v1/employees', '/api/v1/employees', { body: { id: 'E4', name: 'Dan', badge: 'B3' } })).body.error.code, 'badge_taken');
      assert.equal((await call('GET /api/v1/employees', '/api/v1/employees?siteId=S1', { as: 'manager' })).body.data.length, 2);
      assert.equal((await call('GET /api/v1/employees', '/api/v1/employees?siteId=S2', { as: 'manager' })).status, 403);
      assert.equal((await call('GET /api/v1/employees/{id}', '/api/v1/employees/E3')).body.data.badge, 'B3');
      assert.equal((await call('GET /api/v1/employees/{id}', '/api/v1/employees/E9')).status, 404);
      assert.equal((await call('PATCH /api/v1/employees/{id}', '/api/v1/employees/E3', { body: { pin: null } })).body.data.hasPin, false);
      assert.equal((await call('PATCH /api/v1/employees/{id}', '/api/v1/employees/E3', { body: { pin: '12' } })).status, 400);
      assert.equal((await call('GET /api/v1/badges/{badge}', '/api/v1/badges/B3', { as: 'kiosk' })).body.data.employeeId, 'E3');
      assert.equal((await call('GET /api/v1/badges/{badge}', '/api/v1/badges/B9', { as: 'kiosk' })).body.error.code, 'unknown_badge');
      assert.equal((await call('POST /api/v1/employees/{id}/deactivate', '/api/v1/employees/E3/deactivate')).body.data.active, false);
      assert.equal((await call('POST /api/v1/employees/{id}/deactivate', '/api/v1/employees/E2/deactivate', { as: 'manager' })).status, 403);
    });

    it('reports, as JSON and as CSV', async () => {
      const daily = 'GET /api/v1/reports/daily';
      const json = await call(daily, `/api/v1/reports/daily?siteId=S1&date=${today}`, { as: 'manager' });
      assert.ok(json.body.data.some((row: { employeeId: string }) => row.employeeId === 'E1'));
      const csv = await call(daily, `/api/v1/reports/daily?siteId=S1&date=${today}&format=csv`);
      assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.match(csv.text, /^employeeId,name,date,shiftId,firstIn,lastOut,workedMinutes,sessions,scheduledMinutes,lateMinutes,earlyExitMinutes,overtimeMinutes,status,flags\r\n/);
      assert.equal((await call(daily, `/api/v1/reports/daily?siteId=S1&date=${today}`, { headers: { accept: 'text/csv' } })).headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.equal((await call(daily, `/api/v1/reports/daily?siteId=S9&date=${today}`)).status, 404);
      assert.equal((await call(daily, `/api/v1/reports/daily?siteId=S2&date=${today}`, { as: 'manager' })).status, 403);
      const summary = 'GET /api/v1/reports/summary';
      const sums = await call(summary, `/api/v1/reports/summary?siteId=S1&from=${today}&to=${today}`, { as: 'manager' });
      assert.ok(sums.body.data.some((row: { employeeId: string }) => row.employeeId === 'E1'));
      assert.match((await call(summary, `/api/v1/reports/summary?siteId=S1&from=${today}&to=${today}&format=csv`)).text, /^employeeId,name,from,to,daysPresent,/);
      assert.equal((await call(summary, `/api/v1/reports/summary?siteId=S1&from=2026-01-01&to=2027-01-02`)).status, 400);
      const timesheet = 'GET /api/v1/employees/{id}/timesheet';
      assert.equal((await call(timesheet, `/api/v1/employees/E1/timesheet?from=${today}&to=${today}`)).body.data.length, 1);
      assert.equal((await call(timesheet, `/api/v1/employees/E1/timesheet?from=${today}`)).status, 400);
    });

    it('bulk: an employee import and the exports', async () => {
      const imports = 'POST /api/v1/imports/employees';
      const csv = { 'content-type': 'text/csv' };
      assert.deepEqual((await call(imports, '/api/v1/imports/employees?dryRun=true', { body: 'id,name,siteId\nI1,Imported,S1\n', headers: csv })).body.data, {
        dryRun: true,
        rows: 1,
        created: 1,
        updated: 0,
        unchanged: 0,
      });
      assert.equal((await call(imports, '/api/v1/imports/employees', { body: 'id,name,siteId\nI1,Imported,S1\n', headers: csv, as: 'manager' })).body.data.created, 1);
      assert.equal((await call(imports, '/api/v1/imports/employees', { body: 'id,name,siteId\nI2,,S1\n', headers: csv })).body.error.code, 'import_invalid');
      assert.equal((await call(imports, '/api/v1/imports/employees', { body: 'id,nope\nI3,x\n', headers: csv })).body.error.code, 'invalid_csv');
      assert.equal((await call(imports, '/api/v1/imports/employees', { body: 'id\nI3\n', headers: csv, as: 'kiosk' })).status, 403);
      const checkins = 'GET /api/v1/exports/checkins';
      assert.ok(Array.isArray((await call(checkins, `/api/v1/exports/checkins?from=${today}&to=${today}`)).body.data));
      assert.match((await call(checkins, `/api/v1/exports/checkins?from=${today}&to=${today}&format=csv`, { as: 'dashboard' })).text, /^seq,eventId,/);
      assert.equal((await call(checkins, `/api/v1/exports/checkins?siteId=S2&from=${today}&to=${today}`, { as: 'dashboard' })).status, 403);
      assert.equal((await call(checkins, `/api/v1/exports/checkins?from=2020-01-01&to=${today}`)).status, 400);
      const attendance = 'GET /api/v1/exports/attendance';
      assert.ok(Array.isArray((await call(attendance, `/api/v1/exports/attendance?siteId=S1&from=${today}&to=${today}`, { as: 'manager' })).body.data));
      assert.match((await call(attendance, `/api/v1/exports/attendance?siteId=S1&from=${today}&to=${today}`, { headers: { accept: 'text/csv' } })).text, /^employeeId,name,date,/);
      assert.equal((await call(attendance, `/api/v1/exports/attendance?siteId=S9&from=${today}&to=${today}`)).status, 404);
    });

    it('shifts, assignments, holidays and leave', async () => {
      const day = { id: 'day', name: 'Day', start: '09:00', end: '17:00' };
      assert.equal((await call('POST /api/v1/sites/{id}/shifts', '/api/v1/sites/S1/shifts', { body: day, as: 'manager' })).body.data.checkInBeforeMinutes, 60);
      assert.equal((await call('POST /api/v1/sites/{id}/shifts', '/api/v1/sites/S1/shifts', { body: day })).body.error.code, 'shift_exists');
      assert.equal((await call('POST /api/v1/sites/{id}/shifts', '/api/v1/sites/S2/shifts', { body: day, as: 'manager' })).status, 403);
      assert.equal((await call('GET /api/v1/sites/{id}/shifts', '/api/v1/sites/S1/shifts', { as: 'manager' })).body.data.length, 1);
      assert.equal((await call('GET /api/v1/sites/{id}/shifts', '/api/v1/sites/S9/shifts')).status, 404);
      assert.equal((await call('PATCH /api/v1/sites/{id}/shifts/{shiftId}', '/api/v1/sites/S1/shifts/day', { body: { halfDayBelowMinutes: 240 } })).body.data.halfDayBelowMinutes, 240);
      assert.equal((await call('PATCH /api/v1/sites/{id}/shifts/{shiftId}', '/api/v1/sites/S1/shifts/night', { body: { name: 'Night' } })).body.error.code, 'shift_not_found');

      const holidays = '/api/v1/sites/S1/holidays';
      assert.equal((await call('POST /api/v1/sites/{id}/holidays', holidays, { body: { date: '2026-12-25', name: 'Christmas' } })).status, 201);
      assert.equal((await call('POST /api/v1/sites/{id}/holidays', holidays, { body: { date: '2026-12-25', name: 'Again' } })).body.error.code, 'holiday_exists');
      assert.equal((await call('GET /api/v1/sites/{id}/holidays', `${holidays}?from=2026-01-01&to=2026-12-31`, { as: 'manager' })).body.data.length, 1);
      assert.equal((await call('GET /api/v1/sites/{id}/holidays', `${holidays}?from=2026-12-31&to=2026-01-01`)).status, 400);
      assert.equal((await call('DELETE /api/v1/sites/{id}/holidays/{date}', `${holidays}/2026-12-25`)).body.data.name, 'Christmas');
      assert.equal((await call('DELETE /api/v1/sites/{id}/holidays/{date}', `${holidays}/2026-12-25`)).body.error.code, 'holiday_not_found');

      const assignments = '/api/v1/employees/E1/shift-assignments';
      const assigned = await call('POST /api/v1/employees/{id}/shift-assignments', assignments, { body: { shiftId: 'day', from: '2026-01-05' }, as: 'manager' });
      assert.equal(assigned.body.data.to, null);
      assert.equal((await call('POST /api/v1/employees/{id}/shift-assignments', '/api/v1/employees/E2/shift-assignments', { body: { shiftId: 'day', from: '2026-01-05' } })).body.error.code, 'shift_at_other_site');
      assert.equal((await call('GET /api/v1/employees/{id}/shift-assignments', assignments)).body.data.length, 1);
      assert.equal((await call('GET /api/v1/employees/{id}/shift-assignments', '/api/v1/employees/E2/shift-assignments', { as: 'manager' })).status, 403);
      assert.equal((await call('DELETE /api/v1/employees/{id}/shift-assignments/{assignmentId}', `${assignments}/${assigned.body.data.id}`)).body.data.shiftId, 'day');
      assert.equal((await call('DELETE /api/v1/employees/{id}/shift-assignments/{assignmentId}', `${assignments}/x`)).status, 400);

      const leave = '/api/v1/employees/E1/leave';
      const added = await call('POST /api/v1/employees/{id}/leave', leave, { body: { kind: 'vacation', from: '2026-08-03', to: '2026-08-14' }, as: 'manager' });
      assert.equal(added.body.data.note, null);
      assert.equal((await call('POST /api/v1/employees/{id}/leave', leave, { body: { kind: 'sabbatical', from: '2026-08-03', to: '2026-08-14' } })).status, 400);
      assert.equal((await call('GET /api/v1/employees/{id}/leave', leave)).body.data.length, 1);
      assert.equal((await call('GET /api/v1/employees/{id}/leave', '/api/v1/employees/E9/leave')).body.error.code, 'employee_not_found');
      assert.equal((await call('DELETE /api/v1/employees/{id}/leave/{leaveId}', `${leave}/${added.body.data.id}`)).body.data.kind, 'vacation');
      assert.equal((await call('DELETE /api/v1/employees/{id}/leave/{leaveId}', `${leave}/${added.body.data.id}`)).body.error.code, 'leave_not_found');
    });

    it('probes and metrics', async () => {
      assert.equal((await call('GET /health/live', '/health/live', { as: 'nobody' })).body.data.live, true);
      assert.equal((await call('GET /health/ready', '/health/ready', { as: 'nobody' })).body.data.ready, true);
      const metrics = await call('GET /metrics', '/metrics');
      assert.match(metrics.text, /^# HELP /m);
      assert.equal((await call('GET /metrics', '/metrics', { as: 'nobody' })).status, 401);
      assert.equal((await call('GET /metrics', '/metrics', { as: 'manager' })).status, 403);
    });

    it('sign-in, who am I, sign-out', async () => {
      const login = 'POST /api/v1/auth/login';
      const signedIn = await call(login, '/api/v1/auth/login', { body: { username: 'mia', password: PASSWORD }, as: 'nobody' });
      assert.match(signedIn.headers.get('set-cookie') ?? '', /^hub_session=/);
      assert.equal((await call(login, '/api/v1/auth/login', { body: { username: 'mia', password: 'not the passphrase' }, as: 'nobody' })).body.error.code, 'invalid_credentials');
      assert.equal((await call('GET /api/v1/auth/me', '/api/v1/auth/me', { headers: { cookie } })).body.data.kind, 'session');
      assert.equal((await call('GET /api/v1/auth/me', '/api/v1/auth/me', { as: 'kiosk' })).body.data.kind, 'token');
      assert.equal((await call('POST /api/v1/auth/logout', '/api/v1/auth/logout', { headers: { cookie, origin: 'https://elsewhere.example' } })).status, 403);
      assert.equal((await call('POST /api/v1/auth/logout', '/api/v1/auth/logout', { headers: { cookie, origin: hub.url } })).status, 204);
      assert.equal((await call('GET /api/v1/auth/me', '/api/v1/auth/me', { headers: { cookie } })).status, 401);
    });

    it('tokens, users and the audit log', async () => {
      const made = await call('POST /api/v1/tokens', '/api/v1/tokens', { body: { name: 'lobby', role: 'kiosk', sites: ['S1'] } });
      assert.match(made.body.data.token, /^ahub_/);
      assert.equal((await call('POST /api/v1/tokens', '/api/v1/tokens', { body: { name: 'lobby', role: 'kiosk', sites: ['S9'] } })).body.error.code, 'unknown_site');
      assert.equal((await call('GET /api/v1/tokens', '/api/v1/tokens?limit=500')).body.next, null);
      assert.equal((await call('GET /api/v1/tokens', '/api/v1/tokens', { as: 'manager' })).status, 403);
      assert.ok((await call('DELETE /api/v1/tokens/{id}', `/api/v1/tokens/${made.body.data.id}`)).body.data.revokedAt);
      assert.equal((await call('DELETE /api/v1/tokens/{id}', `/api/v1/tokens/${randomUUID()}`)).body.error.code, 'token_not_found');
      assert.equal((await call('DELETE /api/v1/tokens/{id}', '/api/v1/tokens/not-a-uuid')).status, 400);
      const user = await call('POST /api/v1/users', '/api/v1/users', { body: { username: 'noor', name: 'Noor', password: PASSWORD, role: 'admin' } });
      assert.equal((await call('POST /api/v1/users', '/api/v1/users', { body: { username: 'noor', name: 'Noor', password: PASSWORD, role: 'admin' } })).body.error.code, 'username_taken');
      assert.equal((await call('GET /api/v1/users', '/api/v1/users')).body.data.length, 2);
      assert.equal((await call('GET /api/v1/users/{id}', `/api/v1/users/${user.body.data.id}`)).body.data.username, 'noor');
      assert.equal((await call('GET /api/v1/users/{id}', `/api/v1/users/${randomUUID()}`)).status, 404);
      assert.equal((await call('PATCH /api/v1/users/{id}', `/api/v1/users/${user.body.data.id}`, { body: { active: false } })).body.data.active, false);
      assert.equal((await call('PATCH /api/v1/users/{id}', `/api/v1/users/${user.body.data.id}`, { body: { password: 'short' } })).status, 400);
      const audit = await call('GET /api/v1/audit', '/api/v1/audit?entity=user');
      assert.ok(audit.body.data.length >= 2);
      assert.equal((await call('GET /api/v1/audit', '/api/v1/audit', { as: 'dashboard' })).status, 403);
    });

    it('webhooks', async () => {
      const receiver = await startReceiver();
      try {
        const made = await call('POST /api/v1/webhooks', '/api/v1/webhooks', { body: { url: receiver.url, events: ['checkin.recorded'], sites: ['S1'] } });
        assert.match(made.body.data.secret, /^whsec_/);
        const id = made.body.data.id;
        assert.equal((await call('POST /api/v1/webhooks', '/api/v1/webhooks', { body: { url: 'http://example.com/' } })).status, 400);
        assert.equal((await call('POST /api/v1/webhooks', '/api/v1/webhooks', { body: { url: receiver.url, sites: ['S9'] } })).body.error.code, 'unknown_site');
        assert.equal((await call('GET /api/v1/webhooks', '/api/v1/webhooks')).body.data.length, 1);
        assert.equal((await call('GET /api/v1/webhooks', '/api/v1/webhooks', { as: 'manager' })).status, 403);
        assert.equal((await call('GET /api/v1/webhooks/{id}', `/api/v1/webhooks/${id}`)).body.data.url, receiver.url);
        assert.equal((await call('GET /api/v1/webhooks/{id}', `/api/v1/webhooks/${randomUUID()}`)).body.error.code, 'webhook_not_found');
        assert.equal((await call('PATCH /api/v1/webhooks/{id}', `/api/v1/webhooks/${id}`, { body: { active: false } })).body.data.disabledReason, 'disabled by an admin');
        assert.equal((await call('PATCH /api/v1/webhooks/{id}', `/api/v1/webhooks/${id}`, { body: {} })).status, 400);
        assert.equal((await call('POST /api/v1/webhooks/{id}/ping', `/api/v1/webhooks/${id}/ping`)).body.data.status, 204);
        assert.equal((await call('GET /api/v1/webhooks/{id}/deliveries', `/api/v1/webhooks/${id}/deliveries`)).body.data[0].event, 'ping');
        assert.equal((await call('GET /api/v1/webhooks/{id}/deliveries', `/api/v1/webhooks/${id}/deliveries?limit=0`)).status, 400);
        assert.equal((await call('POST /api/v1/webhooks/{id}/redeliver', `/api/v1/webhooks/${id}/redeliver`, { body: { fromSeq: 1 } })).body.data.deliveredThrough, 0);
        assert.equal((await call('POST /api/v1/webhooks/{id}/redeliver', `/api/v1/webhooks/${id}/redeliver`, { body: { fromSeq: 0 } })).status, 400);
        assert.equal((await call('DELETE /api/v1/webhooks/{id}', `/api/v1/webhooks/${id}`)).body.data.id, id);
        assert.equal((await call('DELETE /api/v1/webhooks/{id}', `/api/v1/webhooks/${id}`)).status, 404);
      } finally {
        await receiver.close();
      }
    });

    it('pages (built or not) and their assets', async () => {
      const dashboard = await call('GET /dashboard', '/dashboard', { as: 'nobody' });
      await call('GET /kiosk', '/kiosk', { as: 'nobody' });
      await call('GET /kiosk-sw.js', '/kiosk-sw.js', { as: 'nobody' });
      const asset = /src="(\/assets\/[^"]+)"/.exec(dashboard.text)?.[1];
      if (asset) assert.equal((await call('GET /assets/{file}', asset, { as: 'nobody' })).status, 200);
      assert.equal((await call('GET /assets/{file}', '/assets/missing-0000.js', { as: 'nobody' })).status, 404);
    });

    it('the docs themselves', async () => {
      assert.equal((await call('GET /api/v1/openapi.json', '/api/v1/openapi.json', { as: 'nobody' })).body.openapi, doc.openapi);
      assert.equal((await call('GET /apidocs', '/apidocs', { as: 'nobody' })).status, 200);
      assert.equal((await call('GET /apidocs/{file}', '/apidocs/swagger-ui.css', { as: 'nobody' })).status, 200);
      assert.equal((await call('GET /apidocs/{file}', '/apidocs/package.json', { as: 'nobody' })).status, 404);
      assert.equal((await call('GET /apidocs/{file}', '/apidocs/constructor', { as: 'nobody' })).status, 404);
    });

    it('…and every one of them was called', () => {
      assert.deepEqual(
        operations()
          .map(({ key }) => key)
          .filter((key) => !called.has(key)),
        [],
      );
    });
  });

  describe('/apidocs', () => {
    it('is a page that loads only this origin’s assets, under a CSP without inline script', async () => {
      const res = await fetch(`${hub.url}/apidocs`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
      assert.doesNotMatch(html, /<style|\sstyle=/i, 'no inline style');
      const refs = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(refs.includes('/apidocs/swagger-ui-bundle.js') && refs.includes('/apidocs/apidocs.js') && refs.includes('/apidocs/swagger-ui.css'), refs.join(' '));
      for (const ref of refs) {
        const url = new URL(ref, res.url);
        assert.equal(url.origin, new URL(hub.url).origin, `${ref} is same-origin`);
        const asset = await fetch(url);
        assert.equal(asset.status, 200, `${ref} answers`);
        assert.match(asset.headers.get('content-type') ?? '', /^(text\/javascript|text\/css|image\/png)/, ref);
        await asset.arrayBuffer();
      }
    });

    it('points Swagger UI at the hub’s own document', async () => {
      const init = await (await fetch(`${hub.url}/apidocs/apidocs.js`)).text();
      assert.match(init, /url: '\/api\/v1\/openapi\.json'/);
      assert.match(init, /validatorUrl: null/);
    });
  });
});
