import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startNodes, type Nodes, type TestHub } from './support/hub.js';
import { recordDashboard, until, type Recorder } from './support/live.js';

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
  let set: Nodes | undefined;
  const dashboards: Recorder[] = [];
  // Node C's next publish is dropped, as if it died between the commit and the publish.
  let dropNext = false;

  before(async function () {
    set = await startNodes(this, 'chaos', {
      count: 3,
      ownRedis: true,
      seed: async (db) => {
        await makeSite(db, { id: 'S1' });
        await makeSite(db, { id: 'S2' });
        for (let i = 0; i < EMPLOYEES; i++) await makeEmployee(db, { id: `E${i}`, siteId: i % 2 ? 'S2' : 'S1' });
      },
      faults: (i) => (i === 2 ? { dropPublish: () => dropNext && !(dropNext = false) } : undefined),
    });
  });
  after(async () => {
    dashboards.forEach((d) => d.client.close());
    await set?.stop();
  });

  it('delivers every matching committed event exactly once, in order', async () => {
    const { tdb, nodes, ownRedis } = set!;
    const [a, b, c] = nodes as [TestHub, TestHub, TestHub];
    const alive = new Set<TestHub>(nodes);

    // The dashboard watches site S1 and one employee of S2, first on node A.
    const filter = { sites: ['S1'], employees: ['E1'] };
    const first = recordDashboard(a, filter);
    dashboards.push(first);
    await until(() => first.acks.length === 1, 10_000, 'first subscribe');
    const startSeq = first.acks[0]!.seq;

    let done = 0;
    let next = 0;
    let redisDown = false;
    let takenWhileDown = 0;
    const post = async (node: TestHub, body: unknown) => {
      const res = await fetch(`${node.url}/api/v1/checkins`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${node.adminToken}` }, body: JSON.stringify(body) });
      if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
      return res.status;
    };
    const writer = async (w: number) => {
      for (let n = next++; n < TOTAL; n = next++) {
        // Each writer owns its employees, so toggles from different writers never race for one person.
        const body = { employeeId: `E${w + WRITERS * (n % (EMPLOYEES / WRITERS))}`, type: 'toggle', eventId: randomUUID() };
        const sentWhileDown = redisDown;
        for (let attempt = 0; ; attempt++) {
          const live = [...alive];
          const node = live[(n + attempt) % live.length]!;
          try {
            const status = await post(node, body);
            assert.ok(status === 201 || status === 200, `unexpected ${status}`);
            break;
          } catch (err) {
            // A node that died under the request: retry on the next one, a bounded number of times.
            if (attempt > 50) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        done++;
        if (sentWhileDown && redisDown) takenWhileDown++;
      }
    };

    const chaos = (async () => {
      await until(() => done >= 1000, 60_000, '1,000 check-ins');
      // Move the dashboard to node B, resuming from the last seq it has.
      first.client.close();
      const moved = recordDashboard(b, { ...filter, since: first.client.lastSeq });
      dashboards.push(moved);

      await until(() => done >= 2000, 60_000, '2,000 check-ins');
      // Node C commits a batch and dies before publishing it.
      dropNext = true;
      await until(() => !dropNext, 10_000, 'a dropped publish');
      alive.delete(c);
      await c.stop();

      await until(() => done >= 3000, 60_000, '3,000 check-ins');
      // Redis goes away until the live nodes have seen it go and have committed check-ins without it.
      await ownRedis!.stop();
      const adapters = [a, b].flatMap((node) => [node.redis!.pub, node.redis!.sub]);
      await until(() => adapters.every((r) => r.status !== 'ready'), 10_000, 'the nodes to see Redis go');
      redisDown = true;
      await until(() => takenWhileDown >= 100, 60_000, 'check-ins taken while Redis is down');
      redisDown = false;
      await ownRedis!.start();
    })();

    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), chaos]);

    const checkins = Number((await tdb.db('checkins').count({ n: '*' }))[0]!.n);
    assert.equal(checkins, TOTAL, 'every punch stored exactly once despite retries');

    // A sentinel the dashboard matches, committed after everything else: delivery is in seq order, so
    // once it has arrived, everything before it has too, and anything extra would be there already.
    const sentinel = await api(b, 'POST', '/api/v1/checkins', { employeeId: 'E0', type: 'toggle' });
    assert.equal(sentinel.status, 201, sentinel.text);
    const expected: number[] = await tdb
      .db('events')
      .where('seq', '>', startSeq)
      .andWhere((q) => q.whereIn('site_id', filter.sites).orWhereIn('employee_id', filter.employees))
      .orderBy('seq')
      .pluck('seq');
    assert.ok(expected.includes(sentinel.body.data.seq), 'the dashboard matches the sentinel');
    const received = () => dashboards.flatMap((d) => d.seqs());
    // The last matching event is the sentinel's own (its presence change).
    await until(() => received().includes(expected.at(-1)!), 30_000, 'the sentinel to reach the dashboard');
    const got = received();
    assert.equal(new Set(got).size, got.length, 'no seq twice');
    assert.deepEqual(got, [...got].sort((x, y) => x - y), 'in seq order');
    assert.equal(got.length, expected.length);
    assert.deepEqual(got, expected);
  });
});
