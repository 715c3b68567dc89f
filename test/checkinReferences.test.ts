import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from '../server/db/knex.js';
import { adminQuery } from './support/db.js';
import { api, useTestHub } from './support/hub.js';

/** Changeset 7: check-ins name existing employees and sites, checked per statement instead of by foreign keys. */
describe('check-in references', () => {
  const t = useTestHub({
    seed: async (db) => {
      await db('sites').insert([
        { id: 'S1', name: 'Main' },
        { id: 'S2', name: 'Empty' },
      ]);
      await db('employees').insert([
        { id: 'E1', name: 'Ann', site_id: 'S1' },
        { id: 'E2', name: 'Bob', site_id: 'S1' },
        { id: 'E3', name: 'Cat', site_id: 'S1' },
        { id: 'E4', name: 'Dan', site_id: 'S1' },
      ]);
    },
  });
  const db = () => t.tdb.db;
  const checkIn = (employeeId: string) => api(t.hub, 'POST', '/api/v1/checkins', { employeeId, type: 'toggle' });
  const sqlState = async (work: Promise<unknown>) => {
    try {
      await work;
      return 'ok';
    } catch (err) {
      return (err as { code?: string }).code;
    }
  };
  /** Until a session of the test database waits for a lock that the given transaction holds. */
  const blockedBy = async (holder: Knex.Transaction) => {
    const pid = (await holder.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const sql = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND $2 = ANY(pg_blocking_pids(pid))`;
    const deadline = Date.now() + 10_000;
    while ((await adminQuery(sql, [t.tdb.name, pid])).rows[0].n === 0) {
      if (Date.now() > deadline) throw new Error('timed out waiting for a session blocked by the open transaction');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const row = (employeeId: string, siteId: string | null, seq: number) => ({
    seq,
    event_id: randomUUID(),
    employee_id: employeeId,
    site_id: siteId,
    type: 'in',
    occurred_at: new Date(),
  });

  before(async () => {
    assert.equal((await checkIn('E1')).status, 201);
  });

  it('refuses a check-in row naming an unknown employee or site, whoever writes it', async () => {
    assert.equal(await sqlState(db()('checkins').insert(row('nobody', 'S1', 9_000_001))), '23503');
    assert.equal(await sqlState(db()('checkins').insert(row('E2', 'nowhere', 9_000_002))), '23503');
    assert.equal(await sqlState(db()('checkins').insert([row('E2', 'S1', 9_000_003), row('nobody', null, 9_000_004)])), '23503', 'one bad row fails the statement');
    assert.equal(await sqlState(db()('checkins').where({ employee_id: 'E1' }).update({ employee_id: 'nobody' })), '23503');
    assert.equal(await sqlState(db()('checkins').insert(row('E2', null, 9_000_005))), 'ok', 'no site is allowed');
    await db()('checkins').where({ seq: 9_000_005 }).delete();
  });

  it('refuses to delete, re-id or truncate away an employee or site that check-ins name', async () => {
    assert.equal(await sqlState(db()('employees').where({ id: 'E1' }).delete()), '23503');
    assert.equal(await sqlState(db()('employees').where({ id: 'E1' }).update({ id: 'E1-renamed' })), '23503');
    assert.equal(await sqlState(db()('sites').where({ id: 'S1' }).update({ id: 'S1-renamed' })), '23503');
    assert.equal(await sqlState(db().raw('TRUNCATE employees CASCADE')), '23503');
    assert.equal(await sqlState(db().raw('TRUNCATE sites CASCADE')), '23503');
    assert.equal(await sqlState(db()('employees').where({ id: 'E1' }).update({ name: 'Ann B.' })), 'ok', 'other columns change freely');
    assert.equal(await sqlState(db()('sites').where({ id: 'S2' }).delete()), 'ok', 'a site no check-in names can go');
    assert.equal(await sqlState(db()('employees').where({ id: 'E4' }).update({ id: 'E4b' })), 'ok', 'an employee no check-in names can be re-id-ed');
  });

  it('a delete and a check-in of the same employee wait for each other: the check-in after the delete is refused', async () => {
    const trx = await db().transaction();
    await trx('employees').where({ id: 'E2' }).delete();
    let settled = false;
    const pending = checkIn('E2').then((res) => {
      settled = true;
      return res;
    });
    await blockedBy(trx);
    assert.equal(settled, false, 'the check-in waits while the delete is open');
    await trx.commit();
    const res = await pending;
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'unknown_employee');
    assert.equal(Number((await db()('checkins').where({ employee_id: 'E2' }).count({ n: '*' }))[0]!.n), 0);
  });

  it('a delete that waited for a check-in of the same employee is refused once it commits', async () => {
    // Hold the seq lock the way a group does between its read and its commit, with E3 judged present.
    const group = await db().transaction();
    await group.raw('SELECT 1 FROM event_seq WHERE id = 1 FOR UPDATE');
    let settled = false;
    const del = sqlState(db()('employees').where({ id: 'E3' }).delete()).then((code) => {
      settled = true;
      return code;
    });
    await blockedBy(group);
    assert.equal(settled, false, 'the delete waits for the writer');
    await group('checkins').insert(row('E3', 'S1', 9_000_010));
    await group.commit();
    assert.equal(await del, '23503');
    assert.ok(await db()('employees').where({ id: 'E3' }).first());
  });
});
