import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDashboardClient, type DashboardClient } from '../shared/client.js';
import type { LiveEvent } from '../shared/events.js';
import { loadConfig } from '../server/config.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api } from './support/hub.js';
import { startHubProcess, type HubProcess } from './support/hubProcess.js';
import { eventually, until } from './support/live.js';
import { freePort } from './support/net.js';
import { dropKeys, requireRedis, uniquePrefix } from './support/redis.js';

/**
 * deploy/nginx/nginx.conf, the file docker-compose.yml mounts, run by Debian's nginx in front of two hub
 * processes on this machine (with the machine's Redis between them), as compose runs it in front of
 * hub1 and hub2: only where it listens and the nodes' addresses differ (listen.conf, upstreams.conf).
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = path.join(repoRoot, 'deploy/nginx');
const EMPLOYEES = 12;

/** nginx with its access log (/dev/stdout in nginx.conf) in a file: /dev/stdout cannot be opened on Node's pipes, which are sockets. */
async function runNginx(args: string[], accessLog: string): Promise<ChildProcess> {
  const log = await fs.open(accessLog, 'a');
  try {
    // A process group of its own: nginx's workers go with it if it has to be killed outright.
    return spawn('nginx', args, { stdio: ['ignore', log.fd, 'pipe'], detached: true });
  } finally {
    await log.close();
  }
}

describe('nginx (deploy/nginx) in front of two hub nodes', () => {
  let tdb: TestDatabase | undefined;
  let prefix = '';
  let redisUrl = '';
  const hubs: HubProcess[] = [];
  let dir = '';
  let nginx: ChildProcess | undefined;
  let nginxOutput = '';
  let exited: Promise<unknown> = Promise.resolve();
  let front = { url: '', adminToken: '' };
  const open: DashboardClient[] = [];

  // Like the compose tests: pending without nginx, except in CI (.ci/run installs it), where it must run.
  before(async function () {
    this.timeout(120_000);
    const found = await new Promise<boolean>((resolve, reject) => {
      const probe = spawn('nginx', ['-v'], { stdio: 'ignore' });
      probe.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(false) : reject(err)));
      probe.on('exit', () => resolve(true));
    });
    if (!found) {
      if (process.env.CI === 'true') throw new Error('nginx is not installed, and CI=true requires the nginx tests to run');
      console.warn('  (nginx is not installed: the nginx tests are pending)');
      this.skip();
    }
    redisUrl = requireRedis(this);

    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    for (let i = 0; i < EMPLOYEES; i++) await makeEmployee(tdb.db, { id: `N${i}`, siteId: 'S1' });
    prefix = uniquePrefix('nginx');
    const adminToken = `ahub_${randomBytes(32).toString('base64url')}`;
    // As docker-compose.yml runs hub1 and hub2: one database, one Redis, behind one proxy.
    const env = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix, ADMIN_TOKEN: adminToken, TRUST_PROXY: '1' };
    hubs.push(...(await Promise.all([startHubProcess(tdb.url, env), startHubProcess(tdb.url, env)])));
    for (const hub of hubs) assert.equal((await api(hub, 'GET', '/api/v1/attendance/health')).status, 200);
    // As the image's build stage does; loaded here because web/build.ts awaits at its top level.
    await (await import('../web/build.js')).build();

    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hub-nginx-'));
    // nginx's workers run as an unprivileged user when the test runs as root: they write request
    // bodies under this folder.
    await fs.chmod(dir, 0o755);
    const port = await freePort();
    await fs.copyFile(path.join(deployDir, 'nginx.conf'), path.join(dir, 'nginx.conf'));
    await fs.writeFile(path.join(dir, 'listen.conf'), `listen 127.0.0.1:${port};\n`);
    // The repository's upstreams (their balancing and stickiness), with this machine's nodes for hub1 and hub2.
    const upstreams = await fs.readFile(path.join(deployDir, 'upstreams.conf'), 'utf8');
    const composePort = loadConfig({}).PORT;
    const ours = upstreams.replaceAll(`hub1:${composePort}`, `127.0.0.1:${hubs[0]!.port}`).replaceAll(`hub2:${composePort}`, `127.0.0.1:${hubs[1]!.port}`);
    assert.ok(!/\bhub[12]:/.test(ours), `upstreams.conf names the nodes as hub1:${composePort} and hub2:${composePort}`);
    await fs.writeFile(path.join(dir, 'upstreams.conf'), ours);

    nginx = await runNginx(['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid; daemon off;`], path.join(dir, 'access.log'));
    exited = new Promise((resolve) => nginx!.once('exit', resolve));
    nginx.stderr!.on('data', (c: Buffer) => (nginxOutput += c.toString()));
    front = { url: `http://127.0.0.1:${port}`, adminToken };
    // nginx is ready once it answers; until then the port refuses connections.
    await eventually(
      async () => {
        assert.equal(nginx!.exitCode, null, `nginx exited:\n${nginxOutput}`);
        return fetch(`${front.url}/api/v1/attendance/health`).then((r) => r.ok, () => false);
      },
      20_000,
      `nginx to answer on ${front.url}`,
    );
  });

  afterEach(() => open.splice(0).forEach((c) => c.close()));

  after(async function () {
    this.timeout(30_000);
    if (nginx?.pid && nginx.exitCode === null) {
      nginx.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(r, 5000, false))]);
      if (!stopped) process.kill(-nginx.pid, 'SIGKILL');
    }
    for (const hub of hubs) await hub.kill();
    await tdb?.drop();
    if (prefix) await dropKeys(redisUrl, prefix);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** Every request id each node logged a request for. */
  const servedBy = () => hubs.map((hub) => new Set(hub.logged('request').map((l) => l.requestId as string)));

  it('spreads REST over both nodes and passes on the caller’s X-Request-Id, or its own', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `nginx-${process.pid}-${i}`);
    for (const id of ids) {
      const res = await api(front, 'GET', '/api/v1/sites', undefined, { 'x-request-id': id });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('x-request-id'), id);
    }
    const own = await api(front, 'GET', '/api/v1/sites');
    const given = own.headers.get('x-request-id') ?? '';
    assert.match(given, /^[0-9a-f]{32}$/, "nginx's $request_id, not the node's");

    await until(() => [...ids, given].every((id) => servedBy().some((s) => s.has(id))), 10_000, 'every request in a node’s log');
    const counts = servedBy().map((s) => ids.filter((id) => s.has(id)).length);
    assert.equal(counts[0]! + counts[1]!, ids.length, 'each request reached exactly one node');
    assert.ok(counts.every((n) => n > 0), `both nodes served requests: ${counts.join(' and ')}`);
  });

  it('a check-in through nginx reaches dashboards connected through nginx on long-polling, on WebSocket and upgraded', async () => {
    const ways: Array<[string, { transports: Array<'polling' | 'websocket'> }, 'polling' | 'websocket']> = [
      ['long-polling only', { transports: ['polling'] }, 'polling'],
      ['WebSocket only', { transports: ['websocket'] }, 'websocket'],
      ["socket.io-client's defaults, long-polling then upgraded", { transports: ['polling', 'websocket'] }, 'websocket'],
    ];
    const dashboards = ways.map(([name, transports, transport]) => {
      const events: LiveEvent[] = [];
      let subscribed = false;
      const client = createDashboardClient({
        url: front.url,
        token: front.adminToken,
        sites: ['S1'],
        onEvent: (e) => events.push(e),
        onSubscribed: () => (subscribed = true),
        socket: { ...transports, forceNew: true },
      });
      open.push(client);
      return { name, transport, client, events, subscribed: () => subscribed };
    });
    for (const d of dashboards) {
      await until(() => d.subscribed() && d.client.socket.io.engine?.transport.name === d.transport, 15_000, `${d.name}: subscribed over ${d.transport}`);
    }

    // Several check-ins, so that both nodes take some (REST is not sticky) and the Redis adapter carries them.
    const ids = Array.from({ length: 6 }, (_, i) => `nginx-checkin-${process.pid}-${i}`);
    const seqs: number[] = [];
    for (const [i, id] of ids.entries()) {
      const res = await api(front, 'POST', '/api/v1/checkins', { employeeId: `N${i}`, type: 'in' }, { 'x-request-id': id });
      assert.equal(res.status, 201, res.text);
      seqs.push(res.body.data.seq);
    }
    for (const d of dashboards) {
      await until(() => seqs.every((seq) => d.events.some((e) => e.seq === seq && e.name === 'checkin.recorded')), 15_000, `${d.name}: every check-in`);
    }
    await until(() => ids.every((id) => servedBy().some((s) => s.has(id))), 10_000, 'the check-ins in the nodes’ logs');
    assert.ok(servedBy().every((s) => ids.some((id) => s.has(id))), 'both nodes took check-ins that every dashboard saw');
  });

  it('keeps a long-polling client on the node that holds its session, request after request', async () => {
    const events: LiveEvent[] = [];
    let subscribed = false;
    let disconnects = 0;
    // No reconnection: a poll sent to the wrong node would end the session, and that must show.
    const client = createDashboardClient({
      url: front.url,
      token: front.adminToken,
      sites: ['S1'],
      onEvent: (e) => events.push(e),
      onSubscribed: () => (subscribed = true),
      socket: { transports: ['polling'], forceNew: true, reconnection: false },
    });
    open.push(client);
    client.socket.on('disconnect', () => disconnects++);
    await until(() => subscribed, 15_000, 'the subscription');
    const sid = client.socket.io.engine.id;

    // Each event ends a long poll and the client sends the next: many requests through nginx.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < EMPLOYEES; i++) {
        const before = events.length;
        const res = await api(front, 'POST', '/api/v1/checkins', { employeeId: `N${i}`, type: 'toggle' });
        assert.equal(res.status, 201, res.text);
        await until(() => events.length > before, 10_000, `the event of N${i}`);
      }
    }
    assert.equal(disconnects, 0);
    assert.equal(client.socket.io.engine.id, sid, 'the same engine.io session throughout');
    assert.equal(client.socket.io.engine.transport.name, 'polling');

    // The session lives on one node only: the other does not know it, so stickiness is what kept it alive.
    const noop = (hub: HubProcess) => fetch(`${hub.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '6' }).then((r) => r.status);
    assert.deepEqual((await Promise.all(hubs.map(noop))).sort(), [200, 400]);
  });

  it('tells the nodes the client’s address, not nginx’s nor what the client claims (TRUST_PROXY=1)', async () => {
    const requestId = `nginx-address-${process.pid}`;
    const body = JSON.stringify({ id: 'ADDR', name: 'From elsewhere', timeZone: 'UTC' });
    // From another loopback address than nginx's own, with a forged X-Forwarded-For.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${front.url}/api/v1/sites`, {
        method: 'POST',
        localAddress: '127.0.0.2',
        headers: { authorization: `Bearer ${front.adminToken}`, 'content-type': 'application/json', 'x-request-id': requestId, 'x-forwarded-for': '198.51.100.7' },
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode!)));
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 201);
    const log = await api(front, 'GET', '/api/v1/audit?entity=site&limit=500');
    const entry = (log.body.data as Array<{ requestId: string; ip: string }>).find((e) => e.requestId === requestId);
    assert.equal(entry?.ip, '127.0.0.2');
  });

  it("leaves a body over the hub's limit to the hub: its JSON 413, not nginx's page", async () => {
    const limit = loadConfig({}).BODY_LIMIT_BYTES;
    const res = await api(front, 'POST', '/api/v1/checkins/batch', `{"punches":[],"pad":"${'x'.repeat(limit)}"}`, { 'content-type': 'application/json' });
    assert.equal(res.status, 413, res.text.slice(0, 200));
    assert.equal(res.body?.error?.code, 'payload_too_large');
  });

  it('serves the pages through nginx', async () => {
    const res = await fetch(`${front.url}/dashboard`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });
});
