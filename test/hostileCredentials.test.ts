import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Knex } from '../server/db/knex.js';
import { authorizationHeaders, cookieHeaders, jwts, socketAuths, tokens, type Known } from './support/credentials.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { open, type SocketSettings } from './support/handshake.js';
import { describeCase, jsonBody, report, send, snapshot, sweep, type Failure, type HttpCase, type Outcome } from './support/hostile.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/net.js';
import { makeToken, makeUser, session, withCookie } from './support/signin.js';

const CASES = 1000;
// The socket's headers are the same bytes the REST sweeps send CASES of; fewer here keeps the run short.
const SOCKET_HEADER_CASES = 500;
const CONCURRENCY = 12;
const SEED = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ISSUER = 'https://idp.example.test/';

/** A route that needs credentials, each way it is called: a read, and a write that would store a check-in. */
const ROUTES: HttpCase[] = [
  { method: 'GET', target: '/api/v1/checkins?siteId=S1', headers: {} },
  { method: 'POST', target: '/api/v1/checkins', ...jsonBody({ employeeId: 'E1', type: 'toggle', siteId: 'S1' }) },
];

const TRANSPORTS: Array<[string, SocketSettings]> = [
  ['default options', {}],
  ['websocket', { transports: ['websocket'] }],
];

async function seed(db: Knex) {
  await makeSite(db, { id: 'S1' });
  await makeEmployee(db, { id: 'E1', siteId: 'S1' });
}

/** What the hub writes (the sweep's tables, plus who may sign in and the audit log): any change is a credential that worked. */
async function written(db: Knex) {
  const out = await snapshot(db);
  for (const table of ['api_tokens', 'sessions', 'users', 'audit_log']) {
    const { rows } = await db.raw(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest FROM ${table} t`);
    out[table] = rows[0];
  }
  return out;
}

function errorCode(text: string): unknown {
  try {
    return (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
  } catch {
    return undefined;
  }
}

const refusedRest = (o: Outcome): string | null => {
  if (o.failure) return o.failure;
  const got = errorCode(o.text);
  return o.statuses.length === 1 && o.statuses[0] === 401 && got === 'unauthenticated' ? null : `expected 401 unauthenticated, got ${o.statuses.join(',')} ${String(got ?? '')}\nresponse: ${o.text.slice(0, 300)}`;
};

type SocketCase = { auth?: Record<string, unknown>; headers?: Record<string, string> };

const showSocketCase = (c: SocketCase & { transport: string }) => {
  const shown = JSON.stringify({ auth: c.auth, extraHeaders: c.headers });
  return `[${c.transport}] ${shown.length > 400 ? `${shown.slice(0, 400)}…(${shown.length} chars)` : shown}`;
};

/**
 * The sweeps against one hub: each REST case on every route must be 401 unauthenticated, each socket
 * case a connect_error unauthenticated; nothing may be written, and the node serves on afterwards.
 */
function sweeper(hub: () => TestHub, db: () => Knex) {
  async function rest(cases: Array<Record<string, string>>) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, timeout: 4000 });
    try {
      const requests = cases.flatMap((headers) => ROUTES.map((r) => ({ ...r, headers: { ...r.headers, ...headers } })));
      const failures = await sweep(requests, async (c) => refusedRest(await send(agent, hub().port, c)), { concurrency: CONCURRENCY, maxFailures: 20 });
      assert.equal(failures.length, 0, `${requests.length} requests:\n${report(failures, describeCase, SEED)}`);
    } finally {
      agent.destroy();
    }
  }

  /** Each case on one transport, taking turns, so both see every kind of case. */
  async function sockets(cases: SocketCase[]) {
    const all = cases.map((c, i) => {
      const [transport, settings] = TRANSPORTS[i % TRANSPORTS.length]!;
      return { ...c, transport, settings };
    });
    const failures: Array<Failure<(typeof all)[number]>> = await sweep(
      all,
      async (c) => {
        const opened = await open(hub().url, { ...c.settings, auth: c.auth, extraHeaders: c.headers }).catch((err: Error) => err);
        if (opened instanceof Error) return opened.message;
        if (!opened.refused) {
          opened.socket.close();
          return 'connected';
        }
        return opened.refused.code === 'unauthenticated' ? null : `connect_error ${opened.refused.code}: ${JSON.stringify(opened.refused.data)}`;
      },
      { concurrency: 24, maxFailures: 20 },
    );
    assert.equal(failures.length, 0, `${all.length} handshakes:\n${report(failures, showSocketCase, SEED)}`);
  }

  /** Runs the sweep, then: the database as it was, the node answering REST and sockets. */
  async function nothingWrittenAndServing(run: () => Promise<void>) {
    const before = await written(db());
    await run();
    const after = await written(db());
    const changed = Object.keys(before).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    assert.deepEqual(changed, [], 'the database changed');
    assert.equal((await api(hub(), 'GET', '/api/v1/attendance/health')).status, 200);
    assert.equal((await api(hub(), 'GET', '/api/v1/checkins?siteId=S1')).status, 200);
    const opened = await open(hub().url, { transports: ['websocket'], auth: { token: hub().adminToken } });
    opened.socket.close();
    assert.equal(opened.refused, null, 'a socket with a valid token connects');
  }

  return { rest, sockets, nothingWrittenAndServing };
}

describe('hostile credentials: malformed, unknown, revoked and expired credentials are refused', () => {
  let tdb: TestDatabase;
  let hub: TestHub;
  let known: Known;
  const s = sweeper(() => hub, () => tdb.db);

  before(async () => {
    tdb = await createTestDatabase();
    await seed(tdb.db);
    hub = await startTestHub({ db: tdb.db });
    await makeUser(hub, { username: 'manager1', password: 'correct horse battery' });
    const revoked = await makeToken(hub, { role: 'kiosk', sites: ['S1'] });
    assert.equal((await api(hub, 'DELETE', `/api/v1/tokens/${revoked.id}`)).status, 200);
    // Expired in the database before its first use, so no node has it cached as valid.
    const expired = await makeToken(hub, { role: 'admin', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await tdb.db('api_tokens').where({ id: expired.id }).update({ expires_at: tdb.db.raw("now() - interval '1 minute'") });
    known = { token: hub.adminToken, session: await session(hub, 'manager1', 'correct horse battery'), revoked: revoked.token, expired: expired.token };
  });
  after(async () => {
    await hub?.stop();
    await tdb?.drop();
  });

  it('the credentials the cases are made from: the real ones work, the revoked and expired ones do not', async () => {
    assert.equal((await api(hub, 'GET', '/api/v1/auth/me')).body.data.kind, 'token');
    assert.equal((await api(hub, 'GET', '/api/v1/auth/me', undefined, withCookie(known.session))).body.data.kind, 'session');
    assert.equal((await api(hub, 'GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${known.revoked}` })).status, 401);
    assert.equal((await api(hub, 'GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${known.expired}` })).status, 401);
  });

  it('the same credentials open a socket by each way the handshake reads them, so the socket sweeps below test refusals', async () => {
    const ways: Array<[string, SocketSettings]> = [
      ['auth.token', { auth: { token: known.token } }],
      ['an Authorization header', { extraHeaders: { authorization: `Bearer ${known.token}` } }],
      ['the session cookie from the hub’s own origin', { extraHeaders: { cookie: `hub_session=${known.session}`, origin: hub.url } }],
    ];
    const refused: string[] = [];
    for (const [way, settings] of ways) {
      for (const [transport, options] of TRANSPORTS) {
        const opened = await open(hub.url, { ...options, ...settings });
        opened.socket.close();
        if (opened.refused) refused.push(`${way} [${transport}]: connect_error ${opened.refused.code}`);
      }
    }
    assert.deepEqual(refused, []);
  });

  it(`Authorization headers: ${CASES} cases (some beside a valid session cookie), each 401 on a read and a write`, async () => {
    const cases = fc.sample(fc.tuple(authorizationHeaders(known), fc.nat(9)), { numRuns: CASES, seed: SEED });
    // A malformed or unknown Authorization header is refused even with a valid cookie: it is not ignored.
    await s.nothingWrittenAndServing(() => s.rest(cases.map(([authorization, n]) => ({ authorization, ...(n === 0 ? { cookie: `hub_session=${known.session}` } : {}) }))));
  });

  it(`session cookies: ${CASES} cases, each 401 on a read and a write`, async () => {
    const cases = fc.sample(cookieHeaders(known), { numRuns: CASES, seed: SEED });
    await s.nothingWrittenAndServing(() => s.rest(cases.map((cookie) => ({ cookie }))));
  });

  it(`bearer tokens: ${CASES} hub-token look-alikes, changed, revoked and expired tokens, each 401`, async () => {
    const cases = fc.sample(tokens(known), { numRuns: CASES, seed: SEED });
    await s.nothingWrittenAndServing(() => s.rest(cases.map((t) => ({ authorization: `Bearer ${t}` }))));
  });

  it(`JWT-shaped bearer tokens: ${CASES} cases, each 401`, async () => {
    const cases = fc.sample(jwts(known), { numRuns: CASES, seed: SEED });
    await s.nothingWrittenAndServing(() => s.rest(cases.map((t) => ({ authorization: `Bearer ${t}` }))));
  });

  it(`socket handshakes: ${CASES} auth values of every shape, half on each transport, each connect_error unauthenticated`, async () => {
    const cases = fc.sample(socketAuths(known), { numRuns: CASES, seed: SEED });
    await s.nothingWrittenAndServing(() => s.sockets(cases.map((auth) => ({ auth }))));
  });

  it(`socket handshakes: ${SOCKET_HEADER_CASES} Authorization headers and ${SOCKET_HEADER_CASES} cookies, half on each transport`, async () => {
    const headers = fc.sample(authorizationHeaders(known), { numRuns: SOCKET_HEADER_CASES, seed: SEED }).map((authorization) => ({ headers: { authorization } }));
    const cookies = fc.sample(cookieHeaders(known), { numRuns: SOCKET_HEADER_CASES, seed: SEED }).map((cookie) => ({ headers: { cookie, origin: hub.url } }));
    await s.nothingWrittenAndServing(() => s.sockets([...headers, ...cookies]));
  });
});

type Jwks = { url: string; close(): Promise<void> };

async function serveJwks(keys: JWK[]): Promise<Jwks> {
  const server = http.createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('hostile credentials with single sign-on configured', () => {
  let tdb: TestDatabase;
  let hub: TestHub;
  let jwks: Jwks;
  let key: { privateKey: CryptoKey; publicJwk: JWK };
  let validJwt: string;
  const s = sweeper(() => hub, () => tdb.db);
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (more: JWTPayload = {}): JWTPayload => ({ iss: ISSUER, sub: 'sso-1', exp: now() + 3600, role: 'admin', name: 'Single Sign-On', ...more });
  const sign = (more: JWTPayload = {}, k = key.privateKey, kid = 'k1') => new SignJWT(claims(more)).setProtectedHeader({ alg: 'ES256', kid }).sign(k);

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' } };
    jwks = await serveJwks([key.publicJwk]);
    tdb = await createTestDatabase();
    await seed(tdb.db);
    hub = await startTestHub({ db: tdb.db, env: { AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_JWKS_URL: jwks.url } });
    validJwt = await sign();
  });
  after(async () => {
    await hub?.stop();
    await tdb?.drop();
    await jwks?.close();
  });

  it(`JWT garbage: ${CASES} cases, each 401 on REST and unauthenticated on a socket; a valid JWT is accepted`, async () => {
    const me = await api(hub, 'GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${validJwt}` });
    assert.deepEqual([me.status, me.body?.data?.kind], [200, 'jwt'], me.text);

    const stranger = await generateKeyPair('ES256');
    const [head, payload, sig] = validJwt.split('.');
    const refused = [
      await sign({ exp: now() - 3600 }),
      await sign({ nbf: now() + 3600 }),
      await sign({ exp: undefined }),
      await sign({ role: 'superuser' }),
      await sign({ sub: undefined }),
      await sign({ iss: 'https://evil.example/' }),
      await sign({}, stranger.privateKey),
      await sign({}, key.privateKey, 'not-in-the-set'),
      await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(JSON.stringify(key.publicJwk))),
      new UnsecuredJWT(claims()).encode(),
      [head, Buffer.from(JSON.stringify({ ...claims(), role: 'admin', sites: ['S1'], sub: 'other' })).toString('base64url'), sig].join('.'),
      [head, payload, ''].join('.'),
      [Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url'), payload, sig].join('.'),
    ];
    const jwtKnown = { token: hub.adminToken, issuer: ISSUER, validJwt, jwts: refused };
    const cases = fc.sample(jwts(jwtKnown), { numRuns: CASES, seed: SEED });
    await s.nothingWrittenAndServing(async () => {
      await s.rest(cases.map((t) => ({ authorization: `Bearer ${t}` })));
      await s.sockets(cases.map((token) => ({ auth: { token } })));
    });
  });

  it('a JWKS that cannot be reached: 503 unavailable with Retry-After (REST) and connect_error unavailable (socket); tokens it need not judge are still 401', async () => {
    const down = await startTestHub({ db: tdb.db, env: { AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json` } });
    try {
      for (const [method, path, body] of [['GET', '/api/v1/checkins?siteId=S1'], ['POST', '/api/v1/checkins', { employeeId: 'E1', type: 'toggle' }]] as const) {
        const res = await api(down, method, path, body, { authorization: `Bearer ${validJwt}` });
        assert.deepEqual([res.status, res.body?.error?.code], [503, 'unavailable'], `${method} ${path}: ${res.text}`);
        assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${method} ${path}: Retry-After`);
      }
      for (const [, settings] of TRANSPORTS) {
        const opened = await open(down.url, { ...settings, auth: { token: validJwt } });
        assert.equal(opened.refused?.code, 'unavailable');
      }
      for (const token of [await sign({ iss: 'https://evil.example/' }), 'abc.def.ghi', `ahub_${'A'.repeat(43)}`]) {
        const res = await api(down, 'GET', '/api/v1/checkins?siteId=S1', undefined, { authorization: `Bearer ${token}` });
        assert.deepEqual([res.status, res.body?.error?.code], [401, 'unauthenticated'], token);
      }
      assert.equal((await api(down, 'GET', '/api/v1/attendance/health')).status, 200);
    } finally {
      await down.stop();
    }
  });
});
