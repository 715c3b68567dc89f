import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { recordDashboard, until, type Recorder } from './support/live.js';
import { requireRedis } from './support/redis.js';
import { startOwnRedis, type OwnRedis } from './support/redisServer.js';

const TOTAL = 5000;
const WRITERS = 24;
const EMPLOYEES = 240;

/**
 * The hub's core promise under failure: three nodes, 5,000 check-ins from concurrent writers spread
 * over them; meanwhile the dashboard moves to another node, one node dies between a commit and its
 * publish, and Redis restarts. The dashboard must end up with exactly the matching seqs of the
 * database, in order, none twice.
 */
describe('chaos: gap-free delivery across nodes, node death and a Redis restart', function () {
  this.timeout(180_000);
  let tdb: TestDatabase;
  let redis: OwnRedis;
  const nodes: TestHub[] = [];
  const dashboards: Recorder[] = [];

  before(async function () {
    requireRedis(this); // a Redis server is needed; this test runs its own on another port
    tdb = await createTestDatabase();
    await makeSite(tdb.db, { id: 'S1' });
    await makeSite(tdb.db, { id: 'S2' });
    for (let i = 0; i < EMPLOYEES; i++) await makeEmployee(tdb.db, { id: `E${i}`, siteId: i % 2 ? 'S2' : 'S1' });
    redis = await startOwnRedis();
  });
  after(async () => {
    dashboards.forEach((d) => d.client.close());
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.stop();
    await tdb?.drop();
  });

  it('delivers every matching committed event exactly once, in order', async () => {
    let dropNext = false;
    const prefix = `chaos-${process.pid}`;
    for (let i = 0; i < 3; i++) {
      const faults = i === 2 ? { dropPublish: () => dropNext && !(dropNext = false) } : undefined;
      nodes.push(await startTestHub({ db: tdb.db, redisUrl: redis.url, prefix, faults }));
    }
    const [a, b, c] = nodes as [TestHub, TestHub, TestHub];
    const alive = new Set<TestHub>(nodes);

    // The dashboard watches site S1 and one employee of S2, first on node A.
    const filter = { sites: ['S1'], employees: ['E1'] };
    const first = recordDashboard(a.url, filter);
    dashboards.push(first);
    await until(() => first.acks.length === 1, 10_000, 'first subscribe');
    const startSeq = first.acks[0]!.seq;

    let done = 0;
    let next = 0;
    const post = async (node: TestHub, body: unknown) => {
      const res = await fetch(`${node.url}/api/v1/checkins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
      return res.status;
    };
    const writer = async (w: number) => {
      for (let n = next++; n < TOTAL; n = next++) {
        // Each writer owns its employees, so toggles from different writers never race for one person.
        const body = { employeeId: `E${w + WRITERS * (n % (EMPLOYEES / WRITERS))}`, type: 'toggle', eventId: randomUUID() };
        for (let attempt = 0; ; attempt++) {
          const live = [...alive];
          const node = live[(n + attempt) % live.length]!;
          try {
            const status = await post(node, body);
            assert.ok(status === 201 || status === 200, `unexpected ${status}`);
            break;
          } catch (err) {
            if (attempt > 50) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        done++;
      }
    };

    const chaos = (async () => {
      await until(() => done >= 1000, 60_000, '1,000 check-ins');
      // Move the dashboard to node B, resuming from the last seq it has.
      first.client.close();
      const moved = recordDashboard(b.url, { ...filter, since: first.client.lastSeq });
      dashboards.push(moved);

      await until(() => done >= 2000, 60_000, '2,000 check-ins');
      // Node C commits a batch and dies before publishing it.
      dropNext = true;
      await until(() => !dropNext, 10_000, 'a dropped publish');
      alive.delete(c);
      await c.stop();

      await until(() => done >= 3000, 60_000, '3,000 check-ins');
      await redis.stop();
      await new Promise((r) => setTimeout(r, 700));
      await redis.start();
    })();

    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), chaos]);

    const checkins = Number((await tdb.db('checkins').count({ n: '*' }))[0]!.n);
    assert.equal(checkins, TOTAL, 'every punch stored exactly once despite retries');

    const expected: number[] = await tdb
      .db('events')
      .where('seq', '>', startSeq)
      .andWhere((q) => q.whereIn('site_id', filter.sites).orWhereIn('employee_id', filter.employees))
      .orderBy('seq')
      .pluck('seq');
    const received = () => dashboards.flatMap((d) => d.seqs());
    await until(() => received().length >= expected.length, 30_000, 'the dashboard to catch up');
    await new Promise((r) => setTimeout(r, 500));
    const got = received();
    assert.equal(new Set(got).size, got.length, 'no seq twice');
    assert.deepEqual(got, [...got].sort((x, y) => x - y), 'in seq order');
    assert.equal(got.length, expected.length);
    assert.deepEqual(got, expected);
  });
});
