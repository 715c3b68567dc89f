import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from '../server/db/knex.js';
import { ensureAdmin } from '../server/services/bootstrap.js';
import { revocationHeard, startPair, type Pair } from './support/authHubs.js';
import { eventually } from './support/live.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { ack, connected, disconnection, open } from './support/handshake.js';
import { api, startTestHub, useTestHub } from './support/hub.js';
import { login, makeToken, makeUser, session, withCookie, withToken } from './support/signin.js';

const PASSWORD = 'correct horse battery staple';
const ALLOWED_ORIGIN = 'https://app.example.test';
const FOREIGN_ORIGIN = 'https://evil.example';
const TOKEN_SHAPE = /^ahub_[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function seed(db: Knex) {
  await makeSite(db, { id: 'S1' });
  for (const id of ['E1', 'E2', 'E3', 'E4']) await makeEmployee(db, { id, siteId: 'S1' });
}

const me = (hub: { url: string }, headers: Record<string, string>) => api(hub, 'GET', '/api/v1/auth/me', undefined, headers);
const statusOf = async (hub: { url: string }, headers: Record<string, string>) => (await me(hub, headers)).status;

/** A token's secret holds 256 random bits: the prefix, then 43 base64url characters (32 bytes). */
function assertTokenShape(secret: string) {
  assert.match(secret, TOKEN_SHAPE);
  assert.equal(Buffer.from(secret.slice(5), 'base64url').length, 32);
}

describe('first start: the first admin', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const tdb = await createTestDatabase();
    dbs.push(tdb);
    return tdb;
  };
  after(async () => {
    for (const tdb of dbs) await tdb.drop();
  });

  /** What a token proves on a hub over that database. */
  async function whoIs(db: Knex, token: string) {
    const hub = await startTestHub({ db, admin: false });
    try {
      return await me(hub, withToken(token));
    } finally {
      await hub.stop();
    }
  }

  const adminTokens = async (db: Knex) => (await db('api_tokens').where({ role: 'admin' }).select('secret_hash')).map((r) => r.secret_hash as string);

  it('makes ADMIN_TOKEN an admin token on a fresh database, and stores only its fingerprint', async () => {
    const { db } = await fresh();
    const secret = `provisioned-${'k'.repeat(40)}`;
    assert.deepEqual(await ensureAdmin(db, secret), { made: 'from ADMIN_TOKEN' });
    assert.deepEqual(await adminTokens(db), [sha256(secret)]);
    const res = await whoIs(db, secret);
    assert.deepEqual([res.status, res.body.data.role, res.body.data.kind], [200, 'admin', 'token']);
  });

  it('without ADMIN_TOKEN makes a random ahub_ admin token; a second call makes nothing', async () => {
    const { db } = await fresh();
    const made = await ensureAdmin(db, undefined);
    assert.equal(made.made, 'generated');
    const secret = (made as { secret: string }).secret;
    assertTokenShape(secret);
    assert.deepEqual(await adminTokens(db), [sha256(secret)]);
    assert.equal((await whoIs(db, secret)).body.data.role, 'admin');

    assert.deepEqual(await ensureAdmin(db, undefined), { made: 'nothing', adminTokenUnknown: false });
    assert.deepEqual(await ensureAdmin(db, `another-${'k'.repeat(40)}`), { made: 'nothing', adminTokenUnknown: true });
    assert.equal((await adminTokens(db)).length, 1);
  });

  it('two nodes starting together make exactly one', async () => {
    const { db } = await fresh();
    const results = await Promise.all([ensureAdmin(db, undefined), ensureAdmin(db, undefined)]);
    assert.deepEqual(results.map((r) => r.made).sort(), ['generated', 'nothing']);
    assert.equal((await adminTokens(db)).length, 1);
  });
});

describe('the real boot (server/index.ts) over an external database', () => {
  let tdb: TestDatabase;
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let url: string;
  let adminToken: string;

  before(async () => {
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hub-boot-'));
    child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: tdb.url,
        MIGRATE_ON_START: 'false',
        REDIS_URL: '',
        ADMIN_TOKEN: '',
        AUTH_JWT_ISSUER: '',
        AUTH_JWT_JWKS_URL: '',
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'trace',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const listening = new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the hub exited (${code}) before listening:\n${output}`)));
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n').find((l) => l.includes('attendance hub is listening'));
        if (line) resolve(JSON.parse(line).url);
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
    });
    url = await listening;
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
    await tdb?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('logs the generated admin token once, writes no token file for a database it did not start, and the token works', async () => {
    const lines = output.split('\n').filter((l) => l.includes('"adminToken"'));
    assert.equal(lines.length, 1, output);
    adminToken = JSON.parse(lines[0]!).adminToken;
    assertTokenShape(adminToken);
    // DATA_DIR/admin-token is for the embedded default only.
    assert.equal(existsSync(path.join(dataDir, 'admin-token')), false);
    const res = await me({ url }, withToken(adminToken));
    assert.deepEqual([res.status, res.body.data.role], [200, 'admin']);
  });

  it('logs no credential: tokens, session cookies, passwords and PINs, right or wrong, by REST and by socket', async () => {
    assert.ok(adminToken, 'the previous test read the admin token');
    const hub = { url, adminToken };
    const wrongPassword = 'not-the-password-Zq81';
    const newPassword = 'a brand new passphrase 77';
    const pin = '80417263';
    const wrongPin = '19283746';
    const unknownToken = `ahub_${'Q7'.repeat(21)}x`;
    const queryToken = 'query-secret-Lk29xx';

    const kiosk = await makeToken(hub, { role: 'kiosk', sites: ['S1'] });
    assert.equal((await api(hub, 'POST', '/api/v1/employees', { id: 'P1', name: 'Pin Holder', siteId: 'S1', badge: 'PB1', pin })).status, 201);
    const user = await makeUser(hub, { username: 'logged', password: PASSWORD });
    assert.equal((await login(hub, 'logged', wrongPassword)).status, 401);
    const cookie = await session(hub, 'logged', PASSWORD);
    assert.equal(await statusOf(hub, withCookie(cookie)), 200);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'P1', type: 'toggle' }, withCookie(cookie, { origin: FOREIGN_ORIGIN }))).status, 403);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { badge: 'PB1', pin, type: 'toggle' }, withToken(kiosk.token))).status, 201);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { badge: 'PB1', pin: wrongPin, type: 'toggle' }, withToken(kiosk.token))).status, 401);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'P1', pin: wrongPin, type: 'toggle' }, withToken(kiosk.token))).status, 401);
    assert.equal(await statusOf(hub, withToken(unknownToken)), 401);
    assert.equal(await statusOf(hub, { authorization: `Basic ${Buffer.from(`logged:${PASSWORD}`).toString('base64')}` }), 401);
    assert.ok((await api(hub, 'GET', `/api/v1/checkins?access_token=${queryToken}`)).status < 500);
    assert.equal((await api(hub, 'PATCH', `/api/v1/users/${user.id}`, { password: newPassword })).status, 200);

    const socket = await connected(url, { transports: ['websocket'], auth: { token: kiosk.token } });
    try {
      assert.equal((await ack<{ ok: boolean }>(socket, 'checkin', { badge: 'PB1', pin, type: 'toggle' })).ok, true);
      assert.equal((await ack<{ ok: boolean }>(socket, 'checkin', { badge: 'PB1', pin: wrongPin, type: 'toggle' })).ok, false);
    } finally {
      socket.close();
    }
    assert.equal((await open(url, { transports: ['websocket'], auth: { token: unknownToken } })).refused?.code, 'unauthenticated');
    assert.equal((await open(url, { extraHeaders: { cookie: `hub_session=${cookie}`, origin: url } })).refused?.code, 'unauthenticated', 'the password change ended it');

    // 'close', not 'exit': every line the hub wrote has then been read.
    child.kill('SIGTERM');
    await once(child, 'close');
    assert.match(output, /"msg":"request"/, 'requests were logged');
    const secrets = { kioskToken: kiosk.token, cookie, password: PASSWORD, wrongPassword, newPassword, pin, wrongPin, unknownToken, queryToken };
    const leaked = Object.entries(secrets).filter(([, secret]) => output.includes(secret));
    assert.deepEqual(leaked.map(([name]) => name), [], 'secrets in the log');
    assert.equal(output.split(adminToken).length - 1, 1, 'the admin token appears once, in the first-start line');
  });
});

describe('API tokens', () => {
  const t = useTestHub({ seed, env: { AUTH_CACHE_SECONDS: '1' } });

  it('shows the secret once: ahub_ and 256 random bits; the list never shows it; PostgreSQL keeps only its SHA-256 fingerprint', async () => {
    const made = await Promise.all(Array.from({ length: 5 }, () => api(t.hub, 'POST', '/api/v1/tokens', { name: 'wall screen', role: 'dashboard', sites: ['S1'] })));
    const secrets = made.map((res) => res.body.data.token as string);
    assert.equal(new Set(secrets).size, secrets.length);
    for (const res of made) {
      assert.equal(res.status, 201, res.text);
      const { id, token, prefix } = res.body.data;
      assertTokenShape(token);
      assert.equal(prefix, token.slice(0, 11));
      const row = await t.tdb.db('api_tokens').where({ id }).first();
      assert.equal(row.secret_hash, sha256(token));
      assert.ok(!JSON.stringify(row).includes(token.slice(5)), 'no column holds the secret');
    }
    const list = await api(t.hub, 'GET', '/api/v1/tokens?limit=500');
    assert.equal(list.status, 200);
    for (const secret of secrets) assert.ok(!list.text.includes(secret.slice(5)), 'the list shows no secret');
    assert.ok(list.body.data.every((tok: Record<string, unknown>) => !('token' in tok)));
  });

  it('a token past its expiry stops working, and its sockets are closed, once the node has looked it up again (AUTH_CACHE_SECONDS=1); other tokens’ sockets stay', async () => {
    const { id, token } = await makeToken(t.hub, { role: 'manager', sites: ['S1'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(await statusOf(t.hub, withToken(token)), 200);
    // Two sockets on the token (one lookup answers both) and one on another token.
    const sockets = [
      await connected(t.hub.url, { transports: ['websocket'], auth: { token } }),
      await connected(t.hub.url, { transports: ['websocket'], auth: { token } }),
    ];
    const bystander = await connected(t.hub.url, { transports: ['websocket'], auth: { token: await t.hub.token('dashboard', ['S1']) } });
    try {
      const gone = sockets.map((s) => disconnection(s, 5000));
      // Expired as if its time had come: the row says so, the node's cached look-up does not yet.
      await t.tdb.db('api_tokens').where({ id }).update({ expires_at: t.tdb.db.raw("now() - interval '1 second'") });
      await eventually(async () => (await statusOf(t.hub, withToken(token))) === 401, 5000, 'the expired token is refused');
      assert.deepEqual(await Promise.all(gone), ['io server disconnect', 'io server disconnect']);
      // The bystander outlived a sweep that closed the others, and still gets answers.
      assert.equal(bystander.connected, true);
      assert.deepEqual(await ack(bystander, 'unsubscribe'), { ok: true });
    } finally {
      for (const s of [...sockets, bystander]) s.close();
    }
  });

  it('an expiry in the past is refused when the token is made', async () => {
    const res = await api(t.hub, 'POST', '/api/v1/tokens', { name: 'late', role: 'admin', expiresAt: new Date(Date.now() - 1000).toISOString() });
    assert.deepEqual([res.status, res.body.error.code], [400, 'validation_failed']);
  });

  it('a revoked token is refused at once', async () => {
    const { id, token } = await makeToken(t.hub, { role: 'manager', sites: ['S1'] });
    assert.equal(await statusOf(t.hub, withToken(token)), 200);
    assert.equal((await api(t.hub, 'DELETE', `/api/v1/tokens/${id}`)).status, 200);
    assert.equal(await statusOf(t.hub, withToken(token)), 401);
    assert.ok((await api(t.hub, 'GET', '/api/v1/tokens?limit=500')).body.data.find((tok: { id: string }) => tok.id === id).revokedAt);
  });
});

describe('two nodes: revocation, sessions and sign-in lockout', () => {
  let p: Pair;
  before(async function () {
    p = await startPair(this, 'auth', { CORS_ORIGINS: ALLOWED_ORIGIN, LOGIN_FAILURES_PER_USER: '3', LOGIN_FAILURES_PER_IP: '1000' }, seed);
  });
  after(() => p?.stop());

  describe('token revocation', () => {
    it('a token revoked on node A is refused on node B as soon as the revocation is announced (well before B’s 5 s cache lets go)', async () => {
      const { id, token } = await makeToken(p.a, { role: 'manager', sites: ['S1'] });
      assert.deepEqual([await statusOf(p.a, withToken(token)), await statusOf(p.b, withToken(token))], [200, 200]);
      const heard = revocationHeard(p.b, 2000);
      assert.equal((await api(p.a, 'DELETE', `/api/v1/tokens/${id}`)).status, 200);
      assert.equal(await statusOf(p.a, withToken(token)), 401);
      await heard;
      assert.equal(await statusOf(p.b, withToken(token)), 401);
    });

    it('a socket on node B whose token is revoked on node A is disconnected', async () => {
      const { id, token } = await makeToken(p.a, { role: 'dashboard', sites: ['S1'] });
      const onB = await connected(p.b.url, { transports: ['websocket'], auth: { token } });
      const pollingOnB = await connected(p.b.url, { auth: { token } });
      const other = await connected(p.b.url, { transports: ['websocket'], auth: { token: p.a.adminToken } });
      try {
        const gone = [disconnection(onB, 3000), disconnection(pollingOnB, 3000)];
        assert.equal((await api(p.a, 'DELETE', `/api/v1/tokens/${id}`)).status, 200);
        assert.deepEqual(await Promise.all(gone), ['io server disconnect', 'io server disconnect']);
        assert.equal(other.connected, true, 'other credentials’ sockets stay');
      } finally {
        for (const s of [onB, pollingOnB, other]) s.close();
      }
    });
  });

  describe('sessions', () => {
    let userId: string;
    before(async () => {
      userId = (await makeUser(p.a, { username: 'ann', password: PASSWORD })).id;
    });

    it('signing in sets an httpOnly, SameSite=Strict cookie that either node accepts', async () => {
      const res = await login(p.a, 'ann', PASSWORD);
      assert.equal(res.status, 200, res.text);
      assert.match(res.setCookie ?? '', /;\s*httponly/i);
      assert.match(res.setCookie ?? '', /;\s*samesite=strict/i);
      assert.ok(!res.text.includes(PASSWORD) && !/passwordHash|password_hash/.test(res.text), 'the answer holds no password');
      for (const node of [p.a, p.b]) {
        const who = await me(node, withCookie(res.secret!));
        assert.deepEqual(who.body.data, { id: userId, name: 'User ann', role: 'manager', sites: ['S1'], kind: 'session', expiresAt: res.body.data.expiresAt });
      }
    });

    it('a change made with the cookie must come from the hub’s own origin or an allowed one', async () => {
      const cookie = await session(p.a, 'ann', PASSWORD);
      const punch = (employeeId: string, more: Record<string, string>) => api(p.a, 'POST', '/api/v1/checkins', { employeeId, type: 'toggle' }, withCookie(cookie, more));
      assert.equal((await punch('E1', { origin: p.a.url })).status, 201);
      assert.equal((await punch('E2', { origin: ALLOWED_ORIGIN })).status, 201);
      assert.equal((await punch('E3', { referer: `${p.a.url}/dashboard` })).status, 201);
      for (const headers of [{ origin: FOREIGN_ORIGIN }, {}, { origin: 'null' }, { referer: `${FOREIGN_ORIGIN}/page` }] as Array<Record<string, string>>) {
        const res = await punch('E4', headers);
        assert.deepEqual([res.status, res.body?.error?.code], [403, 'forbidden'], JSON.stringify(headers));
      }
      // Reads are safe from anywhere the browser lets answer.
      assert.equal((await api(p.a, 'GET', '/api/v1/checkins?siteId=S1', undefined, withCookie(cookie, { origin: FOREIGN_ORIGIN }))).status, 200);
      // A token is not sent by browsers on their own: it needs no origin.
      assert.equal((await api(p.a, 'POST', '/api/v1/checkins', { employeeId: 'E4', type: 'toggle' }, { origin: FOREIGN_ORIGIN })).status, 201);
    });

    it('logging out ends the session at once on both nodes; a foreign page cannot log it out', async () => {
      const cookie = await session(p.a, 'ann', PASSWORD);
      assert.deepEqual([await statusOf(p.a, withCookie(cookie)), await statusOf(p.b, withCookie(cookie))], [200, 200]);
      assert.equal((await api(p.a, 'POST', '/api/v1/auth/logout', undefined, withCookie(cookie, { origin: FOREIGN_ORIGIN }))).status, 403);
      assert.equal(await statusOf(p.a, withCookie(cookie)), 200, 'still signed in');

      const heard = revocationHeard(p.b, 2000);
      const out = await api(p.a, 'POST', '/api/v1/auth/logout', undefined, withCookie(cookie, { origin: p.a.url }));
      assert.equal(out.status, 204);
      assert.match(out.headers.getSetCookie().join('\n'), /hub_session=;/, 'the cookie is cleared');
      assert.equal(await statusOf(p.a, withCookie(cookie)), 401);
      await heard;
      assert.equal(await statusOf(p.b, withCookie(cookie)), 401);
    });

    it('a new password, or deactivation, ends the user’s sessions on both nodes', async () => {
      const newPassword = 'another long passphrase';
      const first = await session(p.a, 'ann', PASSWORD);
      assert.equal(await statusOf(p.b, withCookie(first)), 200);
      let heard = revocationHeard(p.b, 2000);
      assert.equal((await api(p.a, 'PATCH', `/api/v1/users/${userId}`, { password: newPassword })).status, 200);
      assert.equal(await statusOf(p.a, withCookie(first)), 401);
      await heard;
      assert.equal(await statusOf(p.b, withCookie(first)), 401);

      const second = await session(p.b, 'ann', newPassword);
      assert.equal(await statusOf(p.b, withCookie(second)), 200);
      heard = revocationHeard(p.b, 2000);
      assert.equal((await api(p.a, 'PATCH', `/api/v1/users/${userId}`, { active: false })).status, 200);
      assert.equal(await statusOf(p.a, withCookie(second)), 401);
      await heard;
      assert.equal(await statusOf(p.b, withCookie(second)), 401);
      assert.equal((await login(p.a, 'ann', newPassword)).status, 401, 'an inactive user cannot sign in');
      assert.equal((await api(p.a, 'PATCH', `/api/v1/users/${userId}`, { active: true, password: PASSWORD })).status, 200);
    });

    it('a socket opened with the session cookie (own or allowed origin, either transport) closes when the session ends; a foreign origin opens none', async () => {
      const carl = await makeUser(p.a, { username: 'carl', password: PASSWORD });
      const cookieSockets = async (cookie: string) => [
        await connected(p.b.url, { transports: ['websocket'], extraHeaders: { cookie: `hub_session=${cookie}`, origin: p.b.url } }),
        await connected(p.a.url, { extraHeaders: { cookie: `hub_session=${cookie}`, origin: ALLOWED_ORIGIN } }),
      ];
      const ended = async (cookie: string, end: () => Promise<{ status: number }>) => {
        const sockets = await cookieSockets(cookie);
        try {
          const gone = sockets.map((s) => disconnection(s, 3000));
          assert.ok((await end()).status < 300);
          assert.deepEqual(await Promise.all(gone), ['io server disconnect', 'io server disconnect']);
        } finally {
          for (const s of sockets) s.close();
        }
      };

      const cookie = await session(p.a, 'carl', PASSWORD);
      await ended(cookie, () => api(p.a, 'POST', '/api/v1/auth/logout', undefined, withCookie(cookie, { origin: p.a.url })));
      const again = await session(p.a, 'carl', PASSWORD);
      const foreign = await open(p.b.url, { transports: ['websocket'], extraHeaders: { cookie: `hub_session=${again}`, origin: FOREIGN_ORIGIN } });
      assert.equal(foreign.refused?.code, 'forbidden', 'a cookie from a foreign page opens no socket');
      await ended(again, () => api(p.a, 'PATCH', `/api/v1/users/${carl.id}`, { password: 'carl has a new passphrase' }));
    });
  });

  describe('sign-in lockout', () => {
    it('wrong passwords on both nodes count together; past LOGIN_FAILURES_PER_USER even the right one is 429 login_locked; each failure answers later', async () => {
      await makeUser(p.a, { username: 'locky', password: PASSWORD });
      const durations: number[] = [];
      for (const node of [p.a, p.b, p.a]) {
        const started = performance.now();
        const res = await login(node, 'locky', 'wrong password, again');
        durations.push(performance.now() - started);
        assert.deepEqual([res.status, res.body?.error?.code], [401, 'invalid_credentials']);
      }
      // The documented slowdown: 200 ms more for each failure already counted.
      durations.forEach((ms, i) => assert.ok(ms >= 200 * (i + 1) - 5, `failure ${i + 1} answered after ${Math.round(ms)} ms: ${durations.map(Math.round).join(', ')}`));
      for (const node of [p.b, p.a]) {
        const res = await login(node, 'locky', PASSWORD);
        assert.deepEqual([res.status, res.body?.error?.code], [429, 'login_locked'], res.text);
        const retry = Number(res.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 900, `Retry-After ${res.headers.get('retry-after')}`);
        assert.equal(res.secret, null, 'no session');
      }
      // Another user from the same address signs in: the lock is this user's.
      assert.equal((await login(p.b, 'ann', PASSWORD)).status, 200);
    });
  });
});

describe('sign-in lockout per address, across two nodes', () => {
  let p: Pair;
  before(async function () {
    p = await startPair(this, 'auth-ip', { LOGIN_FAILURES_PER_USER: '100', LOGIN_FAILURES_PER_IP: '3' }, seed);
  });
  after(() => p?.stop());

  it('wrong passwords for several usernames from one address lock that address out, on both nodes', async () => {
    await makeUser(p.a, { username: 'ipok', password: PASSWORD });
    for (const [node, username] of [[p.a, 'ipok'], [p.b, 'nobody'], [p.a, 'someone-else']] as const) {
      assert.equal((await login(node, username, 'wrong password, again')).status, 401);
    }
    for (const node of [p.b, p.a]) {
      const res = await login(node, 'ipok', PASSWORD);
      assert.deepEqual([res.status, res.body?.error?.code], [429, 'login_locked'], res.text);
      assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    }
  });
});

describe('the older API and LEGACY_ANONYMOUS', () => {
  const record = { id: 'E1', name: 'Eve', status: 'present', date: '2026-01-15' };
  const none = { authorization: '' };

  describe('off (the default)', () => {
    const t = useTestHub({ seed });

    it('create, search and search/all need credentials; the health routes are open', async () => {
      assert.equal((await api(t.hub, 'POST', '/api/v1/attendance/create', record, none)).status, 401);
      assert.equal((await api(t.hub, 'GET', '/api/v1/attendance/search?id=E1', undefined, none)).status, 401);
      assert.equal((await api(t.hub, 'GET', '/api/v1/attendance/search/all', undefined, none)).status, 401);
      assert.equal((await api(t.hub, 'GET', '/api/v1/attendance/health', undefined, none)).status, 200);
      assert.equal((await api(t.hub, 'GET', '/api/v1/attendance/health/detail', undefined, none)).status, 200);
      assert.equal(Number((await t.tdb.db('records').count({ n: '*' }))[0]!.n), 0, 'nothing was written');
    });
  });

  describe('on', () => {
    const t = useTestHub({ seed, env: { LEGACY_ANONYMOUS: 'true' } });

    it('create, search and search/all work without credentials', async () => {
      assert.equal((await api(t.hub, 'POST', '/api/v1/attendance/create', record, none)).status, 200);
      const found = await api(t.hub, 'GET', '/api/v1/attendance/search?id=E1', undefined, none);
      assert.deepEqual([found.status, found.body?.id], [200, 'E1']);
      const all = await api(t.hub, 'GET', '/api/v1/attendance/search/all', undefined, none);
      assert.deepEqual([all.status, all.body?.length], [200, 1]);
    });

    it('every other route still needs credentials, and a wrong token is not taken for none', async () => {
      for (const [method, target, body] of [
        ['GET', '/api/v1/checkins'],
        ['POST', '/api/v1/checkins', { employeeId: 'E1', type: 'toggle' }],
        ['GET', '/api/v1/sites'],
        ['GET', '/api/v1/employees'],
        ['GET', '/api/v1/presence'],
        ['GET', '/api/v1/audit'],
        ['GET', '/api/v1/tokens'],
        ['POST', '/api/v1/sites', { id: 'S9', name: 'S9', timeZone: 'UTC' }],
      ] as const) {
        assert.equal((await api(t.hub, method, target, body, none)).status, 401, `${method} ${target}`);
      }
      assert.equal((await api(t.hub, 'POST', '/api/v1/attendance/create', record, withToken(`ahub_${'x'.repeat(43)}`))).status, 401);
      assert.equal((await api(t.hub, 'GET', '/api/v1/attendance/search/all', undefined, { authorization: 'Basic Zm9vOmJhcg==' })).status, 401);
    });
  });
});

/** A GET from a local address of the test's choosing (127.0.0.0/8 all reaches the hub), as another client would. */
function getFrom(localAddress: string, hub: { port: number }, target: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: hub.port, localAddress, path: target, headers, agent: false, signal: AbortSignal.timeout(5000) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('rate limits and socket limits', () => {
  describe('per token', () => {
    const t = useTestHub({ seed, env: { RATE_LIMIT_PER_TOKEN: '5', RATE_LIMIT_WINDOW_SECONDS: '60' } });

    it('the sixth request in the window is 429 rate_limited with Retry-After; another token is unaffected', async () => {
      const [one, two] = [await t.hub.token('manager', ['S1']), await t.hub.token('manager', ['S1'])];
      for (let i = 0; i < 5; i++) assert.equal(await statusOf(t.hub, withToken(one)), 200, `request ${i + 1}`);
      const refused = await me(t.hub, withToken(one));
      assert.deepEqual([refused.status, refused.body?.error?.code], [429, 'rate_limited']);
      const retry = Number(refused.headers.get('retry-after'));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${refused.headers.get('retry-after')}`);
      assert.equal(await statusOf(t.hub, withToken(two)), 200);
    });
  });

  describe('per address', () => {
    const t = useTestHub({ seed, env: { RATE_LIMIT_PER_IP: '5', RATE_LIMIT_WINDOW_SECONDS: '60' } });

    it('the sixth request from one address is 429 rate_limited, with credentials or without; another address is unaffected', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await getFrom('127.0.0.1', t.hub, '/api/v1/attendance/health')).status, 200, `request ${i + 1}`);
      for (const headers of [{}, { authorization: `Bearer ${t.hub.adminToken}` }] as Array<Record<string, string>>) {
        const refused = await getFrom('127.0.0.1', t.hub, '/api/v1/checkins', headers);
        assert.equal(refused.status, 429, refused.body);
        assert.equal(JSON.parse(refused.body).error.code, 'rate_limited');
        assert.match(refused.retryAfter ?? '', /^[1-9]\d*$/);
      }
      assert.equal((await getFrom('127.0.0.2', t.hub, '/api/v1/checkins', { authorization: `Bearer ${t.hub.adminToken}` })).status, 200);
    });
  });

  describe('sockets', () => {
    const t = useTestHub({ seed, env: { SOCKETS_PER_TOKEN: '2', SOCKET_EVENTS_PER_SECOND: '5', SOCKET_MAX_PAYLOAD_BYTES: '1024' } });

    it('SOCKETS_PER_TOKEN=2: a third socket with the token is refused too_many_sockets; another token connects; closing one frees a slot', async () => {
      const [token, other] = [await t.hub.token('dashboard', ['S1']), await t.hub.token('dashboard', ['S1'])];
      const open2 = [await connected(t.hub.url, { transports: ['websocket'], auth: { token } }), await connected(t.hub.url, { auth: { token } })];
      const later: Array<{ close(): unknown }> = [];
      try {
        const third = await open(t.hub.url, { transports: ['websocket'], auth: { token } });
        assert.equal(third.refused?.code, 'too_many_sockets');
        assert.equal((third.refused?.data as { code?: string })?.code, 'too_many_sockets');
        later.push(await connected(t.hub.url, { transports: ['websocket'], auth: { token: other } }));

        const onServer = t.hub.io.of('/').sockets.get(open2[0]!.id!)!;
        const serverSaw = once(onServer, 'disconnect');
        open2[0]!.close();
        await serverSaw;
        later.push(await connected(t.hub.url, { transports: ['websocket'], auth: { token } }));
      } finally {
        for (const s of [...open2, ...later]) s.close();
      }
    });

    it('SOCKET_EVENTS_PER_SECOND=5: events past the rate are acked rate_limited and not handled', async () => {
      const socket = await connected(t.hub.url, { transports: ['websocket'], auth: { token: await t.hub.token('dashboard', ['S1']) } });
      try {
        const acks = await Promise.all(Array.from({ length: 12 }, () => ack<{ ok: boolean; error?: { code: string } }>(socket, 'unsubscribe')));
        const limited = acks.filter((a) => !a.ok && a.error?.code === 'rate_limited').length;
        assert.ok(acks.slice(0, 5).every((a) => a.ok), JSON.stringify(acks));
        // The bucket refills continuously: an event or so may be let through while the 12 arrive.
        assert.ok(limited >= 5 && limited <= 7 && acks.every((a) => a.ok || a.error?.code === 'rate_limited'), JSON.stringify(acks));
      } finally {
        socket.close();
      }
    });

    it('a payload over SOCKET_MAX_PAYLOAD_BYTES closes that socket only; the node serves on', async () => {
      for (const settings of [{ transports: ['websocket'] }, {}]) {
        const [big, bystander] = [await t.hub.token('dashboard', ['S1']), await t.hub.token('dashboard', ['S1'])];
        const sender = await connected(t.hub.url, { ...settings, auth: { token: big } });
        const other = await connected(t.hub.url, { ...settings, auth: { token: bystander } });
        try {
          const gone = disconnection(sender);
          sender.emit('unsubscribe', 'x'.repeat(4096));
          assert.match(await gone, /^transport (close|error)$/, JSON.stringify(settings));
          assert.deepEqual(await ack(other, 'unsubscribe'), { ok: true });
          assert.equal((await api(t.hub, 'GET', '/api/v1/attendance/health')).status, 200);
        } finally {
          sender.close();
          other.close();
        }
      }
    });
  });
});

describe('the audit log', () => {
  const t = useTestHub({ seed });
  const rid = (what: string) => `audit-${what}-${process.pid}`;

  it('records every write with actor, role, address, request id and what changed, never a secret', async () => {
    const admin = (await me(t.hub, withToken(t.hub.adminToken))).body.data;
    const call = async (what: string, method: string, target: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await api(t.hub, method, target, body, { 'x-request-id': rid(what), ...headers });
      assert.equal(res.headers.get('x-request-id'), rid(what));
      assert.ok(res.status < 300 || what === 'login-failed', `${what}: ${res.status} ${res.text}`);
      return res;
    };
    const password = 'the first passphrase 1';
    const newPassword = 'the second passphrase 2';
    const wrongPassword = 'a wrong passphrase 3';
    const pin = '80417263';

    const checkin = (await call('checkin', 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'in', siteId: 'S1' })).body.data;
    await call('legacy', 'POST', '/api/v1/attendance/create', { id: 'E2', name: 'Eve Two', status: 'present', date: '2026-01-15' });
    await call('employee', 'POST', '/api/v1/employees', { id: 'P9', name: 'Pin Nine', siteId: 'S1', badge: 'B9', pin });
    const token = (await call('token-create', 'POST', '/api/v1/tokens', { name: 'door', role: 'kiosk', sites: ['S1'] })).body.data;
    await call('token-revoke', 'DELETE', `/api/v1/tokens/${token.id}`);
    const user = (await call('user-create', 'POST', '/api/v1/users', { username: 'audited', name: 'Audited', password, role: 'manager', sites: ['S1'] })).body.data;
    await call('user-update', 'PATCH', `/api/v1/users/${user.id}`, { password: newPassword, name: 'Audited Again' });
    await call('login-failed', 'POST', '/api/v1/auth/login', { username: 'audited', password: wrongPassword }, { authorization: '' });
    const signedIn = await call('login', 'POST', '/api/v1/auth/login', { username: 'audited', password: newPassword }, { authorization: '' });
    assert.equal(signedIn.status, 200);

    const log = await api(t.hub, 'GET', '/api/v1/audit?limit=500');
    assert.equal(log.status, 200, log.text);
    const entries: Array<Record<string, any>> = log.body.data;
    const of = (what: string) => {
      const found = entries.filter((e) => e.requestId === rid(what));
      assert.ok(found.length > 0, `no audit entry for ${what}`);
      return found;
    };
    const byAdmin = { actorKind: 'token', actorId: admin.id, actorRole: 'admin', ip: '127.0.0.1' };
    const pick = (e: Record<string, any>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, e[k]]));
    const expectations: Array<[string, Record<string, unknown>]> = [
      ['checkin', { ...byAdmin, action: 'checkin', entity: 'checkin', entityId: checkin.eventId, changes: null }],
      ['legacy', { ...byAdmin, action: 'upsert', entity: 'record', entityId: 'E2/2026-01-15' }],
      ['employee', { ...byAdmin, action: 'create', entity: 'employee', entityId: 'P9' }],
      ['token-create', { ...byAdmin, action: 'create', entity: 'token', entityId: token.id }],
      ['token-revoke', { ...byAdmin, action: 'revoke', entity: 'token', entityId: token.id }],
      ['user-create', { ...byAdmin, action: 'create', entity: 'user', entityId: user.id }],
      ['user-update', { ...byAdmin, action: 'update', entity: 'user', entityId: user.id }],
      ['login-failed', { actorKind: 'anonymous', actorRole: null, ip: '127.0.0.1', action: 'login_failed', entity: 'session' }],
      ['login', { actorKind: 'session', actorId: user.id, actorRole: 'manager', ip: '127.0.0.1', action: 'login', entity: 'session' }],
    ];
    for (const [what, expected] of expectations) {
      const [entry] = of(what);
      assert.deepEqual(pick(entry!, Object.keys(expected)), expected, what);
    }
    assert.equal(of('user-update')[0]!.changes.name, 'Audited Again');
    assert.equal(of('login-failed')[0]!.changes.username, 'audited');

    const text = JSON.stringify(entries);
    for (const [name, secret] of Object.entries({ tokenSecret: token.token, password, newPassword, wrongPassword, pin })) {
      assert.ok(!text.includes(secret), `the audit log holds the ${name}`);
    }
  });

  it('PostgreSQL refuses UPDATE, DELETE and TRUNCATE on audit_log', async () => {
    const before = (await t.tdb.db('audit_log').count({ n: '*' }))[0]!.n;
    assert.ok(Number(before) > 0);
    for (const sql of ["UPDATE audit_log SET action = 'changed'", 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
      await assert.rejects(t.tdb.db.raw(sql), /append-only/, sql);
    }
    assert.equal((await t.tdb.db('audit_log').count({ n: '*' }))[0]!.n, before);
  });
});

describe('security headers and CORS', () => {
  const t = useTestHub({ seed, env: { CORS_ORIGINS: ALLOWED_ORIGIN } });

  it('REST answers carry nosniff and a CSP, and no X-Powered-By, success or refusal', async () => {
    for (const res of [await api(t.hub, 'GET', '/api/v1/attendance/health'), await api(t.hub, 'GET', '/api/v1/checkins', undefined, { authorization: '' })]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal(res.headers.get('x-powered-by'), null);
    }
  });

  const corsOf = (res: { headers: Headers }) => [res.headers.get('access-control-allow-origin'), res.headers.get('access-control-allow-credentials')];

  it('REST: an allowed origin gets Access-Control-Allow-Origin with credentials; another gets none', async () => {
    assert.deepEqual(corsOf(await api(t.hub, 'GET', '/api/v1/checkins', undefined, { origin: ALLOWED_ORIGIN })), [ALLOWED_ORIGIN, 'true']);
    assert.equal(corsOf(await api(t.hub, 'GET', '/api/v1/checkins', undefined, { origin: FOREIGN_ORIGIN }))[0], null);
    const preflight = (origin: string) =>
      api(t.hub, 'OPTIONS', '/api/v1/checkins', undefined, { authorization: '', origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });
    assert.deepEqual(corsOf(await preflight(ALLOWED_ORIGIN)), [ALLOWED_ORIGIN, 'true']);
    assert.equal(corsOf(await preflight(FOREIGN_ORIGIN))[0], null);
  });

  it('the Socket.IO polling handshake: the same', async () => {
    const handshake = (origin: string) => api(t.hub, 'GET', '/socket.io/?EIO=4&transport=polling', undefined, { authorization: '', origin });
    const allowed = await handshake(ALLOWED_ORIGIN);
    assert.equal(allowed.status, 200);
    assert.deepEqual(corsOf(allowed), [ALLOWED_ORIGIN, 'true']);
    assert.equal(corsOf(await handshake(FOREIGN_ORIGIN))[0], null);
  });
});
