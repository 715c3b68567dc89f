import assert from 'node:assert/strict';
import { createLogger } from '../server/logger.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTestHub, type TestHub } from './support/hub.js';
import { until } from './support/live.js';
import { dropKeys, requireRedis, uniquePrefix } from './support/redis.js';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy.js';

type Line = { msg: string; requestId?: string; [key: string]: unknown };

/**
 * Every line logged while a request is served carries its request id, however deep the code that logs
 * it: the hub's own logger, its lines captured. Redis is reached through a proxy the test cuts, so the
 * cache, far below the routes, has something to log.
 */
describe('request ids in the log', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let redis: TcpProxy;
  let hub: TestHub;
  let redisUrl: string;
  const prefix = uniquePrefix('request-id');
  const lines: Line[] = [];

  before(async function () {
    redisUrl = requireRedis(this);
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    await makeEmployee(tdb.db, { id: 'E1', siteId: 'S1' });
    redis = await startTcpProxy(redisUrl);
    const logger = createLogger({ LOG_LEVEL: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
    hub = await startTestHub({ db: tdb.db, redisUrl: redis.url, prefix, logger });
  });
  after(async () => {
    redis?.pass();
    await hub?.stop();
    await redis?.close();
    await tdb?.drop();
    if (redisUrl) await dropKeys(redisUrl, prefix);
  });

  const logged = (requestId: string) => lines.filter((l) => l.requestId === requestId);

  it("keeps the caller's X-Request-Id, returns it, and puts it on the request's line", async () => {
    const res = await api(hub, 'GET', '/api/v1/sites', undefined, { 'x-request-id': 'caller-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'caller-1');
    assert.deepEqual(logged('caller-1').map((l) => [l.msg, l.path]), [['request', '/api/v1/sites']]);
  });

  it('makes one when the caller sends none, or one that is not short and plain', async () => {
    for (const given of [undefined, 'has spaces in it', 'x'.repeat(129)]) {
      const res = await api(hub, 'GET', '/api/v1/sites', undefined, given === undefined ? {} : { 'x-request-id': given });
      const made = res.headers.get('x-request-id')!;
      assert.match(made, /^[\w-]+-[0-9a-z]+$/);
      assert.notEqual(made, given);
      assert.deepEqual(logged(made).map((l) => l.msg), ['request']);
    }
  });

  it('is on what the cache logs, deep below the route, and on no line of another request', async () => {
    redis.cut();
    await until(() => hub.redis!.client.status !== 'ready', 10_000, 'the cache client to see Redis gone');
    const [deep, other] = await Promise.all([
      api(hub, 'GET', '/api/v1/presence?siteId=S1', undefined, { 'x-request-id': 'deep-1' }),
      api(hub, 'GET', '/api/v1/sites/S1', undefined, { 'x-request-id': 'other-1' }),
    ]);
    assert.equal(deep.status, 200, 'presence is read from PostgreSQL while Redis is away');
    assert.equal(other.status, 200);
    const cacheLine = logged('deep-1').find((l) => l.msg === 'cache read failed; reading the database');
    assert.ok(cacheLine, `the cache's line carries the request id: ${JSON.stringify(lines.slice(-5))}`);
    assert.equal(cacheLine.key, 'presence:S1');
    assert.deepEqual(logged('other-1').map((l) => l.msg), ['request']);
  });

  it('leaves a group commit to no single request: it serves all whose check-ins it carries', async () => {
    const res = await api(hub, 'POST', '/api/v1/checkins', { employeeId: 'E1', type: 'in' }, { 'x-request-id': 'punch-1' });
    assert.equal(res.status, 201);
    // Its cache invalidation, after the commit, fails with Redis away and says so, for the group.
    const invalidation = lines.find((l) => l.msg === 'cache invalidation failed; entry may be stale until its TTL');
    assert.ok(invalidation, 'the group commit logged its failed invalidation');
    assert.equal(invalidation.requestId, undefined);
    assert.deepEqual(logged('punch-1').map((l) => l.msg), ['request']);
  });
});
