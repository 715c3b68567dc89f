import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { TestDatabase } from './support/db.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTwoNodes, type TestHub, type TwoNodes } from './support/hub.js';

describe('presence through two nodes sharing Redis', () => {
  let nodes: TwoNodes | undefined;
  let tdb: TestDatabase;
  let a: TestHub;
  let b: TestHub;
  let redis: Redis;

  before(async function () {
    nodes = await startTwoNodes(this, 'presence', async (db) => {
      for (const id of ['S1', 'S2', 'S3', 'S4']) await makeSite(db, { id });
      for (const id of ['P1', 'P2', 'X1', 'X2']) await makeEmployee(db, { id, siteId: 'S1' });
      await makeEmployee(db, { id: 'R1', name: 'Old Name', siteId: 'S2' });
      for (const id of ['D1', 'D2']) await makeEmployee(db, { id, siteId: 'S3' });
      await makeEmployee(db, { id: 'M1', name: 'Mover', siteId: 'S3' });
      await makeEmployee(db, { id: 'V1', name: 'Visitor', siteId: 'S1' });
    });
    ({ tdb, a, b } = nodes);
    redis = new Redis(nodes.redisUrl);
  });
  after(async () => {
    redis?.disconnect();
    await nodes?.stop();
  });

  async function presence(hub: TestHub, siteId: string): Promise<Array<{ employeeId: string; name: string; since: string }>> {
    const res = await api(hub, 'GET', `/api/v1/presence?siteId=${siteId}`);
    assert.equal(res.status, 200);
    return res.body.data;
  }
  const who = async (hub: TestHub, siteId: string) => (await presence(hub, siteId)).map((p) => p.employeeId);
  async function punch(hub: TestHub, body: Record<string, string>) {
    const res = await api(hub, 'POST', '/api/v1/checkins', body);
    assert.equal(res.status, 201, res.text);
    return res.body.data;
  }
  async function change(hub: TestHub, method: string, path: string, body?: unknown) {
    const res = await api(hub, method, `/api/v1/employees/${path}`, body);
    assert.equal(res.status, 200, res.text);
  }

  it('a read on the same node right after a check-in, and right after a check-out, sees it', async () => {
    assert.deepEqual(await who(a, 'S1'), []);
    const checkin = await punch(a, { employeeId: 'P1', type: 'in' });
    assert.deepEqual(
      (await presence(a, 'S1')).map((p) => [p.employeeId, p.since]),
      [['P1', checkin.occurredAt]],
    );
    await punch(a, { employeeId: 'P1', type: 'out' });
    assert.deepEqual(await who(a, 'S1'), []);
  });

  it('is stored in Redis, where the other node reads it', async () => {
    await punch(a, { employeeId: 'P2', type: 'in' });
    assert.deepEqual(await who(a, 'S1'), ['P2']);
    assert.equal(await redis.exists(`${nodes!.prefix}:cache:val:presence:S1`), 1);
    // Rename behind the hub's back: node B, which never read S1, still answers from the entry A stored.
    await tdb.db('employees').where({ id: 'P2' }).update({ name: 'changed directly' });
    assert.equal((await presence(b, 'S1'))[0]!.name, 'P2');
    await tdb.db('employees').where({ id: 'P2' }).update({ name: 'P2' });
  });

  it('a check-in or check-out on node A is seen by a read on node B right after the 201', async () => {
    for (let i = 0; i < 10; i++) {
      const [writer, reader] = i % 2 ? [b, a] : [a, b];
      assert.deepEqual(await who(reader, 'S1'), i % 2 ? ['P2', 'X1'] : ['P2'], 'cached before the punch');
      await punch(writer, { employeeId: 'X1', type: 'toggle' });
      assert.deepEqual(await who(reader, 'S1'), i % 2 ? ['P2'] : ['P2', 'X1']);
    }
  });

  describe('after an employee change on node A, a read on node B right after it', () => {
    it('shows the new name', async () => {
      await punch(a, { employeeId: 'R1', type: 'in' });
      assert.equal((await presence(b, 'S2'))[0]!.name, 'Old Name');
      await change(a, 'PATCH', 'R1', { name: 'New Name' });
      assert.deepEqual((await presence(b, 'S2')).map((p) => [p.employeeId, p.name]), [['R1', 'New Name']]);
    });

    it('shows the new name, and leaves out the deactivated, at a site they checked in at that is not their own', async () => {
      await punch(a, { employeeId: 'V1', type: 'in', siteId: 'S2' });
      assert.ok((await who(b, 'S2')).includes('V1'));
      await change(a, 'PATCH', 'V1', { name: 'Guest' });
      assert.equal((await presence(b, 'S2')).find((p) => p.employeeId === 'V1')?.name, 'Guest');
      await change(a, 'POST', 'V1/deactivate');
      assert.ok(!(await who(b, 'S2')).includes('V1'));
    });

    it('leaves out a deactivated employee, and lists them again once reactivated', async () => {
      await punch(a, { employeeId: 'D1', type: 'in' });
      assert.deepEqual(await who(b, 'S3'), ['D1']);
      await change(a, 'POST', 'D1/deactivate');
      assert.deepEqual(await who(b, 'S3'), []);
      await change(a, 'PATCH', 'D1', { active: true });
      assert.deepEqual(await who(b, 'S3'), ['D1']);
      await change(a, 'PATCH', 'D1', { active: false });
      assert.deepEqual(await who(b, 'S3'), []);
    });

    it('leaves out a deactivated employee when presence is read again from the database', async () => {
      // D1 is inactive but still checked in; D2's check-in makes S3 be read from the database again.
      await punch(a, { employeeId: 'D2', type: 'in' });
      assert.deepEqual(await who(b, 'S3'), ['D2']);
    });

    it('shows a moved and renamed employee at the site they checked in at, under the new name, and nowhere else', async () => {
      await punch(a, { employeeId: 'M1', type: 'in' });
      assert.deepEqual(await who(b, 'S3'), ['D2', 'M1']);
      assert.deepEqual(await who(b, 'S4'), []);
      await change(a, 'PATCH', 'M1', { siteId: 'S4', name: 'Moved' });
      // Checked in at S3 before the move, so still in there until they check out.
      assert.deepEqual((await presence(b, 'S3')).map((p) => [p.employeeId, p.name]), [['D2', 'D2'], ['M1', 'Moved']]);
      assert.deepEqual(await who(b, 'S4'), []);
      // The out closes the S3 session; the next in is at their new site.
      await punch(a, { employeeId: 'M1', type: 'out' });
      await punch(a, { employeeId: 'M1', type: 'in' });
      assert.deepEqual(await who(b, 'S3'), ['D2']);
      assert.deepEqual((await presence(b, 'S4')).map((p) => [p.employeeId, p.name]), [['M1', 'Moved']]);
    });
  });
});
