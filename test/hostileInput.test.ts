import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { makeEmployee, makeSite } from './support/factories.js';
import {
  ANSWER_MS,
  describeCase,
  hostileString,
  hostileValue,
  httpCases,
  jsonBody,
  objectOf,
  pct,
  poisonId,
  poisonText,
  report,
  send,
  snapshot,
  sweep,
  toValue,
  type Failure,
  type Fields,
  type HttpCase,
  type Outcome,
  type RouteSpec,
} from './support/hostile.js';
import { api, useTestHub } from './support/hub.js';

const CASES = 1000;
const CONCURRENCY = 12;
const SEED = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));

// ---------------------------------------------------------------- valid values, so generated cases reach real code paths

const day = (d: Date) => d.toISOString().slice(0, 10);
const siteId = fc.constantFrom('S1', 'S2', 'S3', 'NS1', 'NS2');
const employeeId = fc.constantFrom('E1', 'E2', 'E3', 'K1', 'K2', 'NE1', 'NE2');
const badge = fc.constantFrom('B1', 'B2', 'NB1');
const pin = fc.oneof(fc.constantFrom('1234', '5678'), fc.stringMatching(/^\d{4,12}$/));
const text = fc.string({ minLength: 1, maxLength: 40 });
const limit = fc.integer({ min: -1, max: 2000 }).map(String);
const active = fc.constantFrom('true', 'false', '1', '0', 'yes', 'no', 'maybe');
const calendarDate = fc.oneof(
  fc.integer({ min: -400, max: 5 }).map((d) => day(new Date(Date.now() + d * 86_400_000))),
  fc.date({ min: new Date('1899-12-30T00:00:00Z'), max: new Date('3000-01-02T00:00:00Z'), noInvalidDate: true }).map(day),
  fc.constantFrom('2026-02-30', '0000-01-01', '2026-1-5', '20260115'),
);
const instant = fc.oneof(
  fc.integer({ min: -60 * 24 * 30, max: 10 }).map((m) => new Date(Date.now() + m * 60_000).toISOString()),
  fc.date({ min: new Date('1899-12-31T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-01-15T08:00:00+14:00', '1900-01-01T00:00:00+00:01', '2026-02-30T08:00:00Z', '2026-01-15T24:00:00Z', '2026-01-15T08:00:00.123456789Z'),
);
// Every zone the runtime lists plus aliases and spellings it also accepts, which PostgreSQL may not know.
const timeZone = fc.constantFrom(
  ...Intl.supportedValuesOf('timeZone'),
  ...['Etc/GMT+12', 'Etc/GMT-14', 'GMT0', 'Zulu', 'Universal', 'Europe/Kyiv', 'Asia/Calcutta', 'US/Pacific', 'EST5EDT', 'PRC', 'utc', 'europe/berlin', 'Factory', 'Etc/Unknown'],
);

const location = fc.record({ lat: fc.double({ min: -100, max: 100, noNaN: true }), lon: fc.double({ min: -200, max: 200, noNaN: true }), accuracyMeters: fc.double({ min: -10, max: 200_000, noNaN: true }) });
const punchCommon: Fields = { type: fc.constantFrom('in', 'out', 'toggle'), siteId, deviceId: fc.constantFrom('kiosk-1', 'door'), occurredAt: instant, eventId: fc.uuid(), location };
const punchShapes: Fields[] = [
  { employeeId, ...punchCommon },
  { badge, pin, ...punchCommon },
];
const punch = objectOf(punchShapes);

const routes: Array<[string, RouteSpec]> = [
  ['POST /api/v1/attendance/create', { method: 'POST', path: '/api/v1/attendance/create', body: { id: employeeId, name: text, status: fc.constantFrom('present', 'absent'), date: calendarDate } }],
  ['GET /api/v1/attendance/search', { method: 'GET', path: '/api/v1/attendance/search', query: { id: employeeId } }],
  ['GET /api/v1/attendance/search/all', { method: 'GET', path: '/api/v1/attendance/search/all' }],
  ['GET /api/v1/attendance/health', { method: 'GET', path: '/api/v1/attendance/health' }],
  ['GET /api/v1/attendance/health/detail', { method: 'GET', path: '/api/v1/attendance/health/detail' }],
  ['POST /api/v1/checkins', { method: 'POST', path: '/api/v1/checkins', body: punchShapes }],
  [
    'POST /api/v1/checkins/batch',
    {
      method: 'POST',
      path: '/api/v1/checkins/batch',
      body: { punches: fc.oneof({ weight: 20, arbitrary: fc.array(punch, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.constant(Array.from({ length: 1001 }, () => ({ employeeId: 'E3', type: 'toggle' }))) }) },
    },
  ],
  ['GET /api/v1/checkins', { method: 'GET', path: '/api/v1/checkins', query: { employeeId, siteId, from: instant, to: instant, after: fc.nat().map(String), limit } }],
  ['GET /api/v1/presence', { method: 'GET', path: '/api/v1/presence', query: { siteId } }],
  ['POST /api/v1/sites', { method: 'POST', path: '/api/v1/sites', body: { id: siteId, name: text, timeZone } }],
  ['GET /api/v1/sites', { method: 'GET', path: '/api/v1/sites', query: { after: siteId, limit, active } }],
  ['GET /api/v1/sites/:id', { method: 'GET', path: '/api/v1/sites/:id', ids: siteId }],
  ['PATCH /api/v1/sites/:id', { method: 'PATCH', path: '/api/v1/sites/:id', ids: siteId, body: { name: text, timeZone, active: fc.boolean() } }],
  ['POST /api/v1/employees', { method: 'POST', path: '/api/v1/employees', body: { id: employeeId, name: text, siteId, badge, pin } }],
  ['GET /api/v1/employees', { method: 'GET', path: '/api/v1/employees', query: { siteId, after: employeeId, limit, active } }],
  ['GET /api/v1/employees/:id', { method: 'GET', path: '/api/v1/employees/:id', ids: employeeId }],
  [
    'PATCH /api/v1/employees/:id',
    { method: 'PATCH', path: '/api/v1/employees/:id', ids: employeeId, body: { name: text, siteId: fc.option(siteId), badge: fc.option(badge), pin: fc.option(pin), active: fc.boolean() } },
  ],
  ['GET /api/v1/reports/daily', { method: 'GET', path: '/api/v1/reports/daily', query: { siteId, date: calendarDate, format: fc.constantFrom('json', 'csv', 'xml') } }],
  ['GET /api/v1/employees/:id/timesheet', { method: 'GET', path: '/api/v1/employees/:id/timesheet', ids: employeeId, query: { from: calendarDate, to: calendarDate } }],
  [
    'POST /api/v1/checkins/corrections',
    { method: 'POST', path: '/api/v1/checkins/corrections', body: { employeeId, type: fc.constantFrom('in', 'out', 'toggle'), occurredAt: instant, siteId, reason: text, eventId: fc.uuid() } },
  ],
  ['POST /api/v1/checkins/:eventId/void', { method: 'POST', path: '/api/v1/checkins/:id/void', ids: fc.oneof(fc.uuid(), employeeId), body: { reason: text } }],
  ['GET /api/v1/exports/checkins', { method: 'GET', path: '/api/v1/exports/checkins', query: { siteId, from: calendarDate, to: calendarDate, format: fc.constantFrom('json', 'csv', 'xml') } }],
  ['GET /api/v1/exports/attendance', { method: 'GET', path: '/api/v1/exports/attendance', query: { siteId, from: calendarDate, to: calendarDate, format: fc.constantFrom('json', 'csv') } }],
  [
    'POST /api/v1/webhooks',
    {
      method: 'POST',
      path: '/api/v1/webhooks',
      body: { url: fc.constantFrom('http://127.0.0.1:9/hook', 'https://example.com/h', 'http://example.com/h', 'javascript:alert(1)'), events: fc.array(fc.constantFrom('checkin.recorded', 'nope'), { maxLength: 3 }), sites: fc.array(siteId, { maxLength: 3 }), secret: text },
    },
  ],
  [
    'PATCH /api/v1/sites/:id · geofence',
    { method: 'PATCH', path: '/api/v1/sites/:id', ids: siteId, body: { geofence: fc.record({ lat: fc.double({ noNaN: true }), lon: fc.double({ noNaN: true }), radiusMeters: fc.double({ noNaN: true }), mode: fc.constantFrom('off', 'flag', 'reject', 'maybe') }) } },
  ],
  // Last: deactivating the seeded sites and employees would turn later cases into site_inactive / employee_inactive.
  ['POST /api/v1/sites/:id/deactivate', { method: 'POST', path: '/api/v1/sites/:id/deactivate', ids: siteId }],
  ['POST /api/v1/employees/:id/deactivate', { method: 'POST', path: '/api/v1/employees/:id/deactivate', ids: employeeId }],
];

// ---------------------------------------------------------------- socket payloads

type SocketCase = { args: unknown[]; ack: boolean };

const binary = fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b));
function socketCases(valid: fc.Arbitrary<unknown>, argCounts: { none: number; one: number; two: number }): fc.Arbitrary<SocketCase> {
  const payload = fc.oneof(
    { weight: 6, arbitrary: valid.map(toValue) },
    { weight: 3, arbitrary: hostileValue.map(toValue) },
    { weight: 1, arbitrary: binary },
    { weight: 1, arbitrary: fc.array(valid, { maxLength: 3 }).map(toValue) },
  );
  const args = fc.oneof(
    { weight: argCounts.none, arbitrary: fc.constant([] as unknown[]) },
    { weight: argCounts.one, arbitrary: payload.map((p) => [p]) },
    { weight: argCounts.two, arbitrary: fc.tuple(payload, payload) },
  );
  return fc.record({ args, ack: fc.boolean() });
}

const socketEvents: Array<[string, fc.Arbitrary<SocketCase>]> = [
  [
    'subscribe',
    socketCases(
      objectOf({
        sites: fc.array(fc.oneof(siteId, hostileString), { maxLength: 3 }),
        employees: fc.array(fc.oneof(employeeId, hostileString), { maxLength: 3 }),
        // Mostly past the head, so a valid subscribe does not replay the whole table each time.
        since: fc.oneof(fc.integer({ min: 1_000_000, max: 2 ** 40 }), fc.nat()),
      }),
      { none: 1, one: 8, two: 1 },
    ),
  ],
  ['unsubscribe', socketCases(hostileValue, { none: 4, one: 4, two: 1 })],
  ['checkin', socketCases(punch, { none: 1, one: 8, two: 1 })],
];

const transports: Array<[string, Partial<ManagerOptions & SocketOptions>]> = [
  ['default options (long-polling, then upgrade)', {}],
  ['long-polling only', { transports: ['polling'] }],
  ['websocket', { transports: ['websocket'] }],
];

const showValue = (v: unknown) => {
  const s = Buffer.isBuffer(v) ? `<Buffer ${v.toString('hex')}>` : JSON.stringify(v);
  return s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s;
};
const showSocketCase = (event: string) => (c: SocketCase) => `emit(${[JSON.stringify(event), ...c.args.map(showValue), ...(c.ack ? ['ack'] : [])].join(', ')})`;

/** A socket.io connection that remembers why it dropped, if it does. */
async function connect(url: string, options: Partial<ManagerOptions & SocketOptions>): Promise<{ socket: Socket; drops: string[] }> {
  const socket = io(url, { forceNew: true, reconnection: false, ...options });
  const drops: string[] = [];
  socket.on('disconnect', (reason) => drops.push(reason));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return { socket, drops };
}

/** An ack that reports a server fault ('internal'; 'unavailable' is subscribe's word for the same) is a failure. */
function ackProblem(response: unknown): string | null {
  const code = (response as { error?: { code?: unknown } } | undefined)?.error?.code;
  return code === 'internal' || code === 'unavailable' ? `ack with error code ${String(code)}: ${JSON.stringify(response)}` : null;
}

/** Emits one case; with an ack, the answer must come within ANSWER_MS. */
function emitCase(socket: Socket, event: string, c: SocketCase): Promise<string | null> {
  if (!c.ack) {
    socket.emit(event, ...c.args);
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    socket.timeout(ANSWER_MS).emit(event, ...c.args, (err: Error | null, response: unknown) => resolve(err ? `no ack within ${ANSWER_MS} ms` : ackProblem(response)));
  });
}

// ---------------------------------------------------------------- poisoned input: must be rejected and must write nothing

type Expectation = 'validation_failed' | 'unsupported_media_type' | 'batch_rejected' | '4xx';
type PoisonCase = { route: string; req: HttpCase; expect: Expectation; base: HttpCase };
type Kind = 'id' | 'device' | 'text';

/** Ids poisoned for a URL: a URL cannot carry a lone surrogate (%ED%A0%80 is invalid UTF-8, read as U+FFFD), and an empty path segment is another route. */
const urlPoisonId = (base: string, inPath: boolean) => poisonId(base).filter((s) => !/\p{Cs}/u.test(s) && !(inPath && s === ''));

const fresh = (prefix: string) => fc.integer({ min: 1, max: 1e9 }).map((n) => `${prefix}${n}`);
const poisonValue = (value: string, kind: Kind) => (kind === 'id' ? poisonId(value) : kind === 'device' ? poisonId(value, 128) : poisonText(value));

/** The base object with one of its id or text fields poisoned; now and then a lone surrogate somewhere else instead. */
function poisoned(base: Record<string, unknown>, kinds: Record<string, Kind>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(kinds).filter((k) => typeof base[k] === 'string');
  const field = fc.constantFrom(...keys).chain((k) => poisonValue(base[k] as string, kinds[k]!).map((v) => ({ ...base, [k]: v })));
  const elsewhere = fc.constantFrom<Record<string, unknown>>({ ...base, 'note\ud800': 1 }, { ...base, note: 'a\udc00b' }, { ...base, type: 'toggle\ud800' });
  return fc.oneof({ weight: 9, arbitrary: field }, { weight: 1, arbitrary: elsewhere });
}

const post = (target: string, value: unknown, method = 'POST'): HttpCase => {
  const { bytes, headers } = jsonBody(value);
  return { method, target, headers, body: bytes };
};

type BodyRoute = { route: string; method: string; path: fc.Arbitrary<string>; base: fc.Arbitrary<Record<string, unknown>>; kinds: Record<string, Kind> };

const checkinBase = fc.constantFrom<Record<string, unknown>>(
  { employeeId: 'E1', type: 'toggle', siteId: 'S1', deviceId: 'kiosk-1' },
  { badge: 'B1', pin: '1234', type: 'toggle', deviceId: 'kiosk-2' },
);
const checkinKinds: Record<string, Kind> = { employeeId: 'id', badge: 'id', siteId: 'id', deviceId: 'device' };

const bodyRoutes: BodyRoute[] = [
  {
    route: 'POST /api/v1/attendance/create',
    method: 'POST',
    path: fc.constant('/api/v1/attendance/create'),
    base: fc.record({ id: fc.oneof(fc.constant('E1'), fresh('PA')), name: fc.constant('Ann Lee'), status: fc.constant('present'), date: fc.constant('2026-01-15') }),
    kinds: { id: 'id', name: 'text', status: 'text' },
  },
  { route: 'POST /api/v1/checkins', method: 'POST', path: fc.constant('/api/v1/checkins'), base: checkinBase, kinds: checkinKinds },
  {
    route: 'POST /api/v1/sites',
    method: 'POST',
    path: fc.constant('/api/v1/sites'),
    base: fc.record({ id: fresh('PS'), name: fc.constant('Plant'), timeZone: fc.constant('UTC') }),
    kinds: { id: 'id', name: 'text' },
  },
  { route: 'PATCH /api/v1/sites/:id', method: 'PATCH', path: fc.constant('/api/v1/sites/S1'), base: fc.constant({ name: 'Plant One' }), kinds: { name: 'text' } },
  {
    route: 'POST /api/v1/employees',
    method: 'POST',
    path: fc.constant('/api/v1/employees'),
    base: fc.record({ id: fresh('PE'), name: fc.constant('Pat Doe'), siteId: fc.constant('S1'), badge: fresh('PB') }),
    kinds: { id: 'id', name: 'text', siteId: 'id', badge: 'id' },
  },
  {
    route: 'PATCH /api/v1/employees/:id',
    method: 'PATCH',
    path: fc.constant('/api/v1/employees/E1'),
    base: fc.record({ name: fc.constant('Eve Renamed'), siteId: fc.constant('S2'), badge: fresh('PB') }),
    kinds: { name: 'text', siteId: 'id', badge: 'id' },
  },
];

const toCase = (route: string, method: string, path: string, base: Record<string, unknown>, value: unknown, expect: Expectation): PoisonCase => ({
  route,
  req: post(path, value, method),
  expect,
  base: post(path, base, method),
});

const batchPoison: fc.Arbitrary<PoisonCase> = fc
  .array(checkinBase.chain((b) => poisoned(b, checkinKinds)), { minLength: 1, maxLength: 3 })
  .map((punches) => toCase('POST /api/v1/checkins/batch', 'POST', '/api/v1/checkins/batch', { punches: [{ employeeId: 'E1', type: 'toggle' }] }, { punches }, 'batch_rejected'));

/** A poisoned id in the path of a route that writes, with a valid body where it takes one. */
const pathPoison: fc.Arbitrary<PoisonCase> = fc
  .constantFrom(
    { route: 'PATCH /api/v1/sites/:id', method: 'PATCH', path: '/api/v1/sites/:id', id: 'S1', body: { name: 'Plant One' } as unknown },
    { route: 'POST /api/v1/sites/:id/deactivate', method: 'POST', path: '/api/v1/sites/:id/deactivate', id: 'S3', body: undefined },
    { route: 'PATCH /api/v1/employees/:id', method: 'PATCH', path: '/api/v1/employees/:id', id: 'E1', body: { name: 'Eve Renamed' } as unknown },
    { route: 'POST /api/v1/employees/:id/deactivate', method: 'POST', path: '/api/v1/employees/:id/deactivate', id: 'E9', body: undefined },
  )
  .chain((r) =>
    urlPoisonId(r.id, true).map((bad): PoisonCase => {
      const req = (id: string): HttpCase => {
        const target = r.path.replace(':id', id);
        return r.body === undefined ? { method: r.method, target, headers: {} } : post(target, r.body, r.method);
      };
      return { route: r.route, req: req(pct(bad)), expect: '4xx', base: req(r.id) };
    }),
  );

/** Reads with a poisoned id in the query or path: nothing to write, but they must be refused, not fail. */
const readPoison: fc.Arbitrary<PoisonCase> = fc
  .constantFrom(
    ['GET /api/v1/presence', (id: string) => `/api/v1/presence?siteId=${id}`, 'S1', false],
    ['GET /api/v1/checkins', (id: string) => `/api/v1/checkins?employeeId=${id}`, 'E1', false],
    ['GET /api/v1/checkins', (id: string) => `/api/v1/checkins?siteId=${id}`, 'S1', false],
    ['GET /api/v1/employees', (id: string) => `/api/v1/employees?siteId=${id}`, 'S1', false],
    ['GET /api/v1/attendance/search', (id: string) => `/api/v1/attendance/search?id=${id}`, 'E1', false],
    ['GET /api/v1/reports/daily', (id: string) => `/api/v1/reports/daily?date=2026-01-15&siteId=${id}`, 'S1', false],
    ['GET /api/v1/sites/:id', (id: string) => `/api/v1/sites/${id}`, 'S1', true],
    ['GET /api/v1/employees/:id', (id: string) => `/api/v1/employees/${id}`, 'E1', true],
    ['GET /api/v1/employees/:id/timesheet', (id: string) => `/api/v1/employees/${id}/timesheet?from=2026-01-01&to=2026-01-31`, 'E1', true],
  )
  .chain(([route, target, id, inPath]) =>
    urlPoisonId(id, inPath).map((bad): PoisonCase => ({ route, req: { method: 'GET', target: target(pct(bad)), headers: {} }, expect: '4xx', base: { method: 'GET', target: target(id), headers: {} } })),
  );

/** A valid body that claims a Content-Encoding it is not in. */
const encodingPoison: fc.Arbitrary<PoisonCase> = fc
  .tuple(fc.constantFrom(...bodyRoutes), fc.constantFrom('bogus', 'gzip', 'deflate', 'br', 'x-gzip', 'compress', 'zstd', 'gzip, deflate', 'GZIP', 'identity, bogus'))
  .chain(([r, coding]) =>
    fc.tuple(r.path, r.base).map(([path, base]): PoisonCase => {
      const ok = post(path, base, r.method);
      return { route: r.route, req: { ...ok, headers: { ...ok.headers, 'content-encoding': coding } }, expect: 'unsupported_media_type', base: ok };
    }),
  );

const poisonCases: fc.Arbitrary<PoisonCase> = fc.oneof(
  ...bodyRoutes.map((r) =>
    fc.tuple(r.path, r.base).chain(([path, base]) => poisoned(base, r.kinds).map((value) => toCase(r.route, r.method, path, base, value, 'validation_failed'))),
  ),
  batchPoison,
  pathPoison,
  readPoison,
  encodingPoison,
);

function errorCode(text: string): unknown {
  try {
    return (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
  } catch {
    return undefined;
  }
}

/** Null when the poisoned request was refused the way the contract says; else the route and what came back, then the response. */
function judgePoison(c: PoisonCase, o: Outcome): string | null {
  if (o.failure) return `${c.route}: ${o.failure}`;
  const status = o.statuses[0] ?? 0;
  const code = errorCode(o.text);
  const legacy = c.route === 'POST /api/v1/attendance/create';
  const got = `got ${status}${code ? ` ${String(code)}` : ''}\nresponse: ${o.text.slice(0, 300)}`;
  const wrong = (expected: string) => `${c.route}: expected ${expected}, ${got}`;
  switch (c.expect) {
    case '4xx':
      return status >= 400 && status < 500 ? null : wrong('a 4xx');
    case 'unsupported_media_type':
      return status === 415 && (legacy || code === 'unsupported_media_type') ? null : wrong('415 unsupported_media_type');
    case 'validation_failed':
      // The older API's create answers 400 in its own shape.
      return status === 400 && (code === 'validation_failed' || (legacy && o.text.includes('"Validation Error"'))) ? null : wrong('400 validation_failed');
    case 'batch_rejected': {
      if (status === 400 && code === 'validation_failed') return null;
      // An offline batch's items are validated one by one, so one bad punch does not sink the rest.
      const items = status === 200 ? ((JSON.parse(o.text) as { data?: Array<{ status: string; error?: { code: string } }> }).data ?? []) : [];
      const allRejected = items.length > 0 && items.every((i) => i.status === 'rejected' && i.error?.code === 'validation_failed');
      return allRejected ? null : wrong('400, or 200 with every punch rejected as validation_failed');
    }
  }
}

// ---------------------------------------------------------------- the sweep

describe('hostile input: every route and socket event', function () {
  const t = useTestHub({
    // Payloads past the socket limit close their socket by design (the limit has a test of its own);
    // here every generated payload must reach the handlers.
    env: { SOCKET_MAX_PAYLOAD_BYTES: String(10 * 1024 * 1024) },
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeSite(db, { id: 'S2', timeZone: 'America/New_York' });
      await makeSite(db, { id: 'S3' });
      await makeEmployee(db, { id: 'E1', siteId: 'S1' });
      await makeEmployee(db, { id: 'E2', siteId: 'S2' });
      await makeEmployee(db, { id: 'E3' });
      await makeEmployee(db, { id: 'E9', siteId: 'S1' });
    },
  });
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  before(async () => {
    // PINs are hashed by the hub, so employees with one are made over REST.
    for (const [id, b, p] of [['K1', 'B1', '1234'], ['K2', 'B2', '5678']] as const) {
      const res = await api(t.hub, 'POST', '/api/v1/employees', { id, name: `Kiosk ${id}`, siteId: 'S1', badge: b, pin: p });
      assert.equal(res.status, 201, res.text);
    }
    assert.equal((await api(t.hub, 'POST', '/api/v1/attendance/create', { id: 'E1', name: 'E1', status: 'present', date: '2026-01-15' })).status, 200);
    assert.equal((await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'E2', type: 'in' })).status, 201);
  });

  /**
   * Keep-alive connections of one sweep, so a connection a case leaves broken fails that sweep and not
   * the next. Idle ones are dropped after 4 s, before the hub's 5 s keep-alive timeout could close one
   * just as it is reused.
   */
  async function withConnections<T>(fn: (run: (c: HttpCase) => Promise<Outcome>) => Promise<T>): Promise<T> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, timeout: 4000 });
    try {
      // As the hub's admin, so every case reaches its route's validation (credentials have a sweep of their own).
      return await fn((c) => send(agent, t.hub.port, { ...c, headers: { authorization: `Bearer ${t.hub.adminToken}`, ...c.headers } }));
    } finally {
      agent.destroy();
    }
  }

  /** The node still answers its health check, and nothing reached Object.prototype (the hub runs in this process). */
  async function assertServing() {
    const health = await withConnections((run) => run({ method: 'GET', target: '/api/v1/attendance/health', headers: {} }));
    assert.deepEqual([health.failure, health.statuses], [undefined, [200]], `health check after the sweep: ${health.failure ?? health.text}`);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys, 'Object.prototype was changed');
  }

  it('poisoned input is refused (4xx) and leaves the database as it was', async function () {
    this.timeout(30_000);
    const cases = fc.sample(poisonCases, { numRuns: 3000, seed: SEED });
    const kioskInputs = fc.sample(checkinBase.chain((b) => poisoned(b, checkinKinds)), { numRuns: 300, seed: SEED });
    const kiosk = await connect(t.hub.url, { transports: ['websocket'], auth: { token: t.hub.adminToken } });
    try {
      const before = await snapshot(t.tdb.db);
      const failures: Array<Failure<string>> = [];
      const rest = await withConnections((run) => sweep(cases, async (c) => judgePoison(c, await run(c.req)), { concurrency: CONCURRENCY, maxFailures: 500 }));
      for (const f of rest) failures.push({ case: describeCase(f.case.req), problem: f.problem });
      const kioskCheckin = (input: unknown) =>
        new Promise<string | null>((resolve) =>
          kiosk.socket.timeout(ANSWER_MS).emit('checkin', input, (err: Error | null, ack: { ok: boolean; error?: { code: string } }) =>
            resolve(
              err
                ? `socket checkin: no ack within ${ANSWER_MS} ms`
                : ack.ok === false && ack.error?.code === 'validation_failed'
                  ? null
                  : `socket checkin: expected ack validation_failed, got ${ack.ok ? 'ok' : ack.error?.code}\nack: ${JSON.stringify(ack).slice(0, 300)}`,
            ),
          ),
        );
      for (const f of await sweep(kioskInputs.map(toValue), kioskCheckin, { concurrency: CONCURRENCY, maxFailures: 100 }))
        failures.push({ case: `emit("checkin", ${showValue(f.case)}, ack)`, problem: f.problem });
      const after = await snapshot(t.tdb.db);

      // The same requests without the poison are accepted: the poison is what was refused.
      const controls = new Map(cases.map((c) => [c.route, c.base]));
      const refusedControls: string[] = [];
      await withConnections(async (run) => {
        for (const [route, base] of controls) {
          const o = await run(base);
          if (o.failure || !o.statuses.every((s) => s >= 200 && s < 300)) refusedControls.push(`${route}: ${o.statuses.join(',')} ${o.failure ?? o.text.slice(0, 200)}`);
        }
      });

      const changed = Object.keys(before).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
      const problems = [
        ...(failures.length ? [report(failures, (c) => c, SEED)] : []),
        ...(changed.length ? [`the database changed: ${changed.map((k) => `${k} ${JSON.stringify(before[k])} -> ${JSON.stringify(after[k])}`).join('; ')}`] : []),
        ...(refusedControls.length ? [`unpoisoned controls were refused, so their poisoned cases proved nothing:\n${refusedControls.join('\n')}`] : []),
      ];
      assert.equal(problems.length, 0, `${cases.length} poisoned requests and ${kioskInputs.length} socket check-ins:\n${problems.join('\n\n')}`);
    } finally {
      kiosk.socket.close();
    }
    await assertServing();
  });

  for (const [event, arb] of socketEvents) {
    it(`socket "${event}": ${CASES} cases on each transport, no fault ack, no hang, no drop`, async function () {
      this.timeout(30_000);
      const sweeps = transports.map(async ([transport, options], i) => {
        const { socket, drops } = await connect(t.hub.url, { ...options, auth: { token: t.hub.adminToken } });
        try {
          const cases = fc.sample(arb, { numRuns: CASES, seed: SEED + i });
          const check = async (c: SocketCase) => {
            const problem = await emitCase(socket, event, c);
            return problem && `[${transport}] ${problem} (${c.args.length} argument(s) before the ack)`;
          };
          // Emits are cheap, and many in flight let the timeouts of unanswered ones run side by side.
          const failures = await sweep(cases, check, { concurrency: 100, maxFailures: 100 });
          // An ack after the sweep proves the socket is still served.
          const alive = await emitCase(socket, 'unsubscribe', { args: [], ack: true });
          const after = [...(alive ? [`after the sweep, unsubscribe: ${alive}`] : []), ...drops.map((d) => `socket dropped: ${d}`)];
          return { failures, after: after.map((p) => `[${transport}] ${p}`) };
        } finally {
          socket.close();
        }
      });
      const results = await Promise.all(sweeps);
      const failures = results.flatMap((r) => r.failures);
      const after = results.flatMap((r) => r.after);
      assert.equal(failures.length + after.length, 0, [...(failures.length ? [report(failures, showSocketCase(event), SEED)] : []), ...after].join('\n'));
      await assertServing();
    });
  }

  for (const [name, spec] of routes) {
    it(`${name}: ${CASES} hostile requests, never a 5xx or a hang`, async function () {
      this.timeout(30_000);
      const cases = fc.sample(httpCases(spec), { numRuns: CASES, seed: SEED });
      const failures = await withConnections((run) =>
        sweep(
          cases,
          async (c) => {
            const o = await run(c);
            if (o.failure) return o.failure;
            const bad = o.statuses.filter((s) => s >= 500);
            return bad.length ? `${bad.join(', ')} ${String(errorCode(o.text) ?? '')}\nresponse: ${o.text.slice(0, 300)}` : null;
          },
          { concurrency: CONCURRENCY, maxFailures: 5 },
        ),
      );
      assert.equal(failures.length, 0, report(failures, describeCase, SEED));
      await assertServing();
    });
  }
});
