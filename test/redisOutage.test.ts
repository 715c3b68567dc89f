import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { recordDashboard, until, type Recorder } from './support/live.js';
import { requireRedis } from './support/redis.js';
import { startOwnRedis, type OwnRedis } from './support/redisServer.js';

// Past ioredis's per-command retry budget with the hub's reconnect delays (about 33 s): a publish the
// adapter had queued used to be rejected then, unhandled, which ends a hub process. (Mocha swallows
// unhandled rejections, so the test listens for them itself.)
const OUTAGE_MS = 40_000;

describe('a long Redis outage', function () {
  this.timeout(OUTAGE_MS + 60_000);
  let tdb: TestDatabase;
  let redis: OwnRedis;
  let a: TestHub;
  let b: TestHub;
  let dash: Recorder;

  before(async function () {
    requireRedis(this); // needs redis-server; this test runs its own on another port
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    for (let i = 0; i < 10; i++) await makeEmployee(tdb.db, { id: `O${i}`, siteId: 'S1' });
    redis = await startOwnRedis();
    a = await startTestHub({ db: tdb.db, redisUrl: redis.url, prefix: 'outage' });
    b = await startTestHub({ db: tdb.db, redisUrl: redis.url, prefix: 'outage' });
    dash = recordDashboard(b.url, { sites: ['S1'] });
  });
  after(async () => {
    dash?.client.close();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    await tdb?.drop();
  });

  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => process.on('unhandledRejection', onRejection));
  afterEach(() => process.off('unhandledRejection', onRejection));

  it('keeps both nodes serving, and the other node catches up when Redis is back', async () => {
    await until(() => dash.acks.length === 1);
    await redis.stop();
    const during = [];
    for (let i = 0; i < 10; i++) during.push(await api(a, 'POST', '/api/v1/checkins', { employeeId: `O${i}`, type: 'in' }));
    assert.ok(during.every((r) => r.status === 201), 'check-ins are taken while Redis is away');

    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    for (const hub of [a, b]) assert.equal((await api(hub, 'GET', '/api/v1/attendance/health')).status, 200);
    assert.deepEqual(rejections, [], 'nothing was left to reject unhandled');

    await redis.start();
    const expected = (await tdb.db('events').where('site_id', 'S1').orderBy('seq').pluck('seq')) as number[];
    await until(() => dash.seqs().length >= expected.length, 15_000, 'the dashboard on the other node to catch up');
    assert.deepEqual(dash.seqs(), expected);
  });
});
