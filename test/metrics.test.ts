import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKioskClient } from '../shared/client.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { recordDashboard, until, type Recorder } from './support/live.js';
import { scrape, type Scrape } from './support/metrics.js';

const METRICS_TOKEN = `metrics-${randomUUID()}-${randomUUID()}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('metrics', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  // One hub scraped with METRICS_TOKEN, one without it (admins scrape), over the same database.
  let hub: TestHub;
  let plain: TestHub;
  const open: Array<{ close(): void }> = [];

  before(async () => {
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    await makeSite(tdb.db, { id: 'S2' });
    for (let i = 1; i <= 9; i++) await makeEmployee(tdb.db, { id: `E${i}`, siteId: 'S1' });
    hub = await startTestHub({ db: tdb.db, env: { METRICS_TOKEN } });
    plain = await startTestHub({ db: tdb.db });
  });
  after(async () => {
    open.splice(0).forEach((c) => c.close());
    await hub?.stop();
    await plain?.stop();
    await tdb?.drop();
  });

  const metrics = () => scrape(hub, bearer(METRICS_TOKEN));
  const watch = (filter: Parameters<typeof recordDashboard>[1]): Recorder => {
    const r = recordDashboard(hub, filter);
    open.push(r.client);
    return r;
  };
  /** How much each series grew from one scrape to the next. */
  const grew = (before: Scrape, after: Scrape) => (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);

  it('counts check-ins by outcome, requests by route, group commits, deliveries and their lag after real traffic', async () => {
    const dash = watch({ sites: ['S1'] });
    await until(() => dash.acks.length === 1, 10_000, 'the dashboard to subscribe');
    const kiosk = createKioskClient({ url: hub.url, token: await hub.token('kiosk', ['S1']) });
    open.push(kiosk);
    const before = await metrics();

    // Accepted: four over REST, one over a socket, one in a batch (whose other item is invalid).
    const first = randomUUID();
    for (const [i, eventId] of [[1, first], [2], [3], [4]] as const) {
      assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: `E${i}`, type: 'in', eventId })).status, 201);
    }
    assert.equal((await kiosk.checkin({ employeeId: 'E5', type: 'in' })).created, true);
    const batch = await api(hub, 'POST', '/api/v1/checkins/batch', { punches: [{ employeeId: 'E6', type: 'in' }, { employeeId: '', type: 'in' }] });
    assert.deepEqual(batch.body.data.map((r: { status: string }) => r.status), ['created', 'rejected']);
    // A retry of the first (duplicate) and an `in` for someone already in (rejected by the rules).
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'in', eventId: first })).status, 200);
    assert.equal((await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'E2', type: 'in' })).status, 409);
    assert.equal((await api(hub, 'GET', `/api/v1/no-such-route-${randomUUID()}`)).status, 404);
    // Each accepted check-in reaches the dashboard with its presence change.
    await until(() => dash.events.length === 12, 10_000, 'the dashboard to receive 6 check-ins and 6 presence changes');

    const after = await metrics();
    const d = grew(before, after);
    assert.equal(d('hub_checkins_total', { outcome: 'accepted' }), 6);
    assert.equal(d('hub_checkins_total', { outcome: 'duplicate' }), 1);
    assert.equal(d('hub_checkins_total', { outcome: 'rejected', code: 'already_checked_in' }), 1);
    assert.equal(d('hub_checkins_total', { outcome: 'rejected', code: 'validation_failed' }), 1);
    assert.equal(d('hub_checkins_total', { outcome: 'rejected' }), 2);

    const route = (method: string, path: string, status: number) => ({ method, route: path, status: String(status) });
    assert.equal(d('hub_http_request_duration_seconds_count', route('POST', '/api/v1/checkins', 201)), 4);
    assert.equal(d('hub_http_request_duration_seconds_count', route('POST', '/api/v1/checkins', 200)), 1);
    assert.equal(d('hub_http_request_duration_seconds_count', route('POST', '/api/v1/checkins', 409)), 1);
    assert.equal(d('hub_http_request_duration_seconds_count', route('POST', '/api/v1/checkins/batch', 200)), 1);
    assert.ok(d('hub_http_request_duration_seconds_sum', route('POST', '/api/v1/checkins', 201)) > 0);
    // A path no route takes is counted under one label, never under the path itself.
    assert.equal(d('hub_http_request_duration_seconds_count', route('GET', 'unmatched', 404)), 1);
    assert.ok(!after.samples.some((s) => s.labels.route?.includes('no-such-route')), 'a raw path became a label');

    // Every punch that reached the ledger went through a group commit: 4 + 1 + 1 + the retry + the rejected one.
    assert.equal(d('hub_group_commit_items_sum'), 8);
    assert.ok(d('hub_group_commit_items_count') >= 1 && d('hub_group_commit_items_count') <= 8);
    assert.equal(d('hub_group_commit_duration_seconds_count'), d('hub_group_commit_items_count'));
    assert.ok(d('hub_group_commit_duration_seconds_sum') > 0);
    // Each check-in event was timed from its commit to its emit: one sample per event, none of them slow.
    assert.equal(d('hub_commit_to_emit_seconds_count'), 6);
    assert.ok(d('hub_commit_to_emit_seconds_sum') < 6 * 5);
    assert.equal(d('hub_events_delivered_total', { path: 'live' }), dash.events.length);

    assert.equal(after.value('hub_sockets_connected'), 2);
    assert.equal(after.value('hub_sockets_subscribed'), 1);
    assert.equal(after.value('hub_db_pool_waiting'), 0);
    assert.ok(after.has('hub_db_pool_in_use'));
    assert.ok(!after.has('hub_redis_up'), 'a hub without Redis reports no Redis gauge');
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok(after.has(name), `default process metric ${name}`);
    }
  });

  it('counts replay pages and replayed events, and cache hits and misses', async () => {
    const before = await metrics();
    const replayer = watch({ sites: ['S1'], since: 0 });
    await until(() => replayer.acks.length === 1 && replayer.events.length > 0 && replayer.events.at(-1)!.seq === replayer.acks[0]!.seq, 10_000, 'the replay');
    // Presence was invalidated by the check-ins: the first read misses, the second hits.
    for (let i = 0; i < 2; i++) assert.equal((await api(hub, 'GET', '/api/v1/presence?siteId=S1')).status, 200);
    const d = grew(before, await metrics());
    assert.equal(d('hub_replay_pages_total'), 1);
    assert.equal(d('hub_events_delivered_total', { path: 'replay' }), replayer.events.length);
    assert.equal(d('hub_cache_lookups_total', { kind: 'presence', result: 'miss' }), 1);
    assert.equal(d('hub_cache_lookups_total', { kind: 'presence', result: 'hit' }), 1);
  });

  it("keeps each hub's metrics to itself", async () => {
    const s = await scrape(plain, bearer(plain.adminToken));
    assert.equal(s.value('hub_checkins_total'), 0);
    assert.equal(s.value('hub_sockets_connected'), 0);
  });

  it('with METRICS_TOKEN, answers that token only: 401 in the usual envelope otherwise', async () => {
    for (const headers of [{}, bearer(hub.adminToken), bearer(`${METRICS_TOKEN}x`), bearer('short'), { authorization: 'Basic abc' }]) {
      const res = await api(hub, 'GET', '/metrics', undefined, { authorization: '', ...headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'unauthenticated');
    }
    const res = await api(hub, 'GET', '/metrics', undefined, bearer(METRICS_TOKEN));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  });

  it('without METRICS_TOKEN, answers admins only', async () => {
    assert.equal((await api(plain, 'GET', '/metrics', undefined, { authorization: '' })).body.error.code, 'unauthenticated');
    const manager = await api(plain, 'GET', '/metrics', undefined, bearer(await plain.token('manager', ['S1'])));
    assert.equal(manager.status, 403);
    assert.equal(manager.body.error.code, 'forbidden');
    assert.equal((await api(plain, 'GET', '/metrics', undefined, bearer(METRICS_TOKEN))).status, 401);
    assert.equal((await api(plain, 'GET', '/metrics')).status, 200);
  });
});
