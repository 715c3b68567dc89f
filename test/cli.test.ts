import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from './support/db.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { eventually } from './support/live.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Run = { code: number | null; stdout: string; stderr: string };

/** The CLI as a person runs it: its own process, the database from DATABASE_URL, input on stdin. */
function cli(script: 'token' | 'user', args: string[], opts: { url: string; env?: Record<string, string>; stdin?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: opts.url, LOG_LEVEL: 'warn', HUB_PASSWORD: undefined, ...opts.env };
    const child = spawn(process.execPath, ['--import', 'tsx', `server/cli/${script}.ts`, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

const lines = (text: string) => text.split('\n').filter(Boolean);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A bad command: one line on stderr naming what is wrong, nothing on stdout, exit code 1. */
function refused(run: Run, says: RegExp) {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, '');
  assert.equal(lines(run.stderr).length, 1, run.stderr);
  assert.match(run.stderr, says);
}

describe('CLI: tokens and users from the command line', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let hub: TestHub;
  const run = (script: 'token' | 'user', args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) => cli(script, args, { url: tdb.url, ...opts });

  before(async () => {
    tdb = await createTestDatabase();
    // A short credential cache: a revocation made by another process reaches this hub when its cached look-up expires.
    hub = await startTestHub({ db: tdb.db, env: { AUTH_CACHE_SECONDS: '1' } });
    for (const id of ['S1', 'S2']) assert.equal((await api(hub, 'POST', '/api/v1/sites', { id, name: id, timeZone: 'UTC' })).status, 201);
    for (const [id, siteId] of [['E1', 'S1'], ['E2', 'S2']]) {
      assert.equal((await api(hub, 'POST', '/api/v1/employees', { id, name: id, siteId, badge: `B-${id}` })).status, 201);
    }
  });
  after(async () => {
    await hub?.stop();
    await tdb?.drop();
  });

  let kiosk: { id: string; secret: string };

  it('create prints the secret on its last line; the token does what a kiosk may, at its site only', async () => {
    const r = await run('token', ['create', '--role', 'kiosk', '--site', 'S1', '--name', 'lobby']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const secret = lines(r.stdout).at(-1)!;
    assert.match(secret, /^ahub_[\w-]{40,}$/);
    kiosk = { id: /id ([0-9a-f-]{36})/.exec(r.stdout)![1]!, secret };

    const as = bearer(secret);
    assert.deepEqual((await api(hub, 'GET', '/api/v1/auth/me', undefined, as)).body.data, { id: kiosk.id, name: 'lobby', role: 'kiosk', sites: ['S1'], kind: 'token', expiresAt: null });
    assert.equal((await api(hub, 'GET', '/api/v1/badges/B-E1', undefined, as)).status, 200);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'in' }, as)).status, 201);
    // Another site's employee, what a kiosk may not read, what only admins may do.
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'E2', type: 'in' }, as)).status, 403);
    assert.equal((await api(hub, 'GET', '/api/v1/presence?siteId=S1', undefined, as)).status, 403);
    assert.equal((await api(hub, 'GET', '/api/v1/employees', undefined, as)).status, 403);
    assert.equal((await api(hub, 'GET', '/api/v1/tokens', undefined, as)).status, 403);

    // Audited like any write, under the operating-system user.
    const audit = await api(hub, 'GET', '/api/v1/audit?entity=token&limit=500');
    const entry = audit.body.data.find((e: { entityId: string }) => e.entityId === kiosk.id);
    assert.equal(entry.action, 'create');
    assert.equal(entry.actorKind, 'anonymous');
    assert.match(entry.actorId, /^cli:./);
  });

  it('takes sites repeated or comma-separated and an expiry: a dashboard token reads its sites only', async () => {
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const r = await run('token', ['create', '--role', 'dashboard', '--site', 'S1,S2', '--site', 'S1', '--name', 'wall', '--expires', expires]);
    assert.equal(r.code, 0, r.stderr);
    const as = bearer(lines(r.stdout).at(-1)!);
    const me = (await api(hub, 'GET', '/api/v1/auth/me', undefined, as)).body.data;
    assert.deepEqual([me.role, me.sites, me.expiresAt], ['dashboard', ['S1', 'S2'], expires]);
    assert.equal((await api(hub, 'GET', '/api/v1/presence?siteId=S2', undefined, as)).status, 200);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'out' }, as)).status, 403);
  });

  it('list shows the tokens without their secrets; revoke stops the token', async () => {
    const listed = await run('token', ['list']);
    assert.equal(listed.code, 0, listed.stderr);
    const row = lines(listed.stdout).find((l) => l.startsWith(kiosk.id))!;
    assert.match(row, /lobby\s+kiosk\s+S1\s+ahub_\S{6}…\s+\S+\s+active$/);
    assert.ok(!listed.stdout.includes(kiosk.secret));
    assert.ok(!/ahub_[\w-]{7,}/.test(listed.stdout), 'no more of a secret than its prefix');

    const revoked = await run('token', ['revoke', kiosk.id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^revoked token /);
    // The hub learns it when its cached look-up (AUTH_CACHE_SECONDS=1) expires.
    await eventually(async () => (await api(hub, 'GET', '/api/v1/badges/B-E1', undefined, bearer(kiosk.secret))).status === 401, 5000, 'the revoked token refused');
    const after = await run('token', ['list']);
    assert.match(lines(after.stdout).find((l) => l.startsWith(kiosk.id))!, /revoked \S+$/);
  });

  it('bad input is one line on stderr and exit code 1, and writes nothing', async () => {
    const before = (await tdb.db('api_tokens').count({ n: '*' }))[0]!.n;
    const empty = await createEmptyDatabase();
    try {
      const [noSite, unknownSite, past, badId, noSchema] = await Promise.all([
        run('token', ['create', '--role', 'kiosk', '--name', 'x']),
        run('token', ['create', '--role', 'kiosk', '--site', 'S9', '--name', 'x']),
        run('token', ['create', '--role', 'kiosk', '--site', 'S1', '--name', 'x', '--expires', '2001-01-01T00:00:00Z']),
        run('token', ['revoke', 'not-a-uuid']),
        cli('token', ['list'], { url: empty.url }),
      ]);
      refused(noSite!, /--site: every role but admin needs at least one site/);
      refused(unknownSite!, /unknown_site/);
      refused(past!, /--expires: must be in the future/);
      refused(badId!, /token id/);
      refused(noSchema!, /start the hub once, or run npm run migrate/);
    } finally {
      await empty.drop();
    }
    assert.equal((await tdb.db('api_tokens').count({ n: '*' }))[0]!.n, before);
  });

  it('user create takes the password from HUB_PASSWORD or stdin, never argv; the manager signs in', async () => {
    const [fromEnv, fromStdin, inArgv, short] = await Promise.all([
      run('user', ['create', '--username', 'ann', '--name', 'Ann Admin', '--role', 'manager', '--site', 'S1'], { env: { HUB_PASSWORD: 'correct horse battery' } }),
      run('user', ['create', '--username', 'bob', '--name', 'Bob', '--role', 'manager', '--site', 'S2'], { stdin: 'staple of the battery\n' }),
      run('user', ['create', '--username', 'cid', '--name', 'Cid', '--role', 'admin', '--password', 'correct horse battery']),
      run('user', ['create', '--username', 'dan', '--name', 'Dan', '--role', 'admin'], { env: { HUB_PASSWORD: 'short' } }),
    ]);
    assert.equal(fromEnv!.code, 0, fromEnv!.stderr);
    assert.equal(fromStdin!.code, 0, fromStdin!.stderr);
    refused(inArgv!, /never taken from the command line/);
    refused(short!, /password: must be at least 12 characters/);

    for (const [username, password, site] of [['ann', 'correct horse battery', 'S1'], ['bob', 'staple of the battery', 'S2']]) {
      const login = await api(hub, 'POST', '/api/v1/auth/login', { username, password }, { authorization: '' });
      assert.equal(login.status, 200, login.text);
      assert.deepEqual([login.body.data.user.role, login.body.data.user.sites], ['manager', [site]]);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const me = await api(hub, 'GET', '/api/v1/auth/me', undefined, { authorization: '', cookie });
      assert.deepEqual([me.status, me.body.data.kind, me.body.data.name], [200, 'session', username === 'ann' ? 'Ann Admin' : 'Bob']);
    }
  });
});
