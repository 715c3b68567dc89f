import assert from 'node:assert/strict';
import { api, startTestHub, useTestHub } from './support/hub.js';

describe('older Attendance API routes', () => {
  const t = useTestHub();

  const create = (body: unknown) => api(t.hub, 'POST', '/api/v1/attendance/create', body);

  it('creates a record and the employee, answering with the old message', async () => {
    const res = await create({ id: 'E100', name: 'Zoë Ångström', status: 'present', date: '2026-11-02' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: 'Successfully created the record for the employee id: E100' });
    const employee = await t.tdb.db('employees').where({ id: 'E100' }).first();
    assert.equal(employee.name, 'Zoë Ångström');
  });

  it('updates the record when the same id and date are created again', async () => {
    await create({ id: 'E101', name: 'Bo', status: 'present', date: '2026-11-03' });
    const again = await create({ id: 'E101', name: 'Bo', status: 'absent', date: '2026-11-03' });
    assert.equal(again.status, 200);
    const rows = await t.tdb.db('records').where({ employee_id: 'E101' });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, 'absent');
    const search = await api(t.hub, 'GET', '/api/v1/attendance/search?id=E101');
    assert.deepEqual(search.body, { id: 'E101', name: 'Bo', status: 'absent', date: '2026-11-03' });
  });

  it('search returns the latest date of the employee', async () => {
    await create({ id: 'E102', name: 'Cy', status: 'present', date: '2026-11-05' });
    await create({ id: 'E102', name: 'Cy', status: 'late', date: '2026-11-07' });
    await create({ id: 'E102', name: 'Cy', status: 'absent', date: '2026-11-06' });
    const res = await api(t.hub, 'GET', '/api/v1/attendance/search?id=E102');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: 'E102', name: 'Cy', status: 'late', date: '2026-11-07' });
  });

  it('search without an id is a 400 with a message', async () => {
    for (const path of ['/api/v1/attendance/search', '/api/v1/attendance/search?id=']) {
      const res = await api(t.hub, 'GET', path);
      assert.equal(res.status, 400);
      assert.equal(typeof res.body.message, 'string');
    }
  });

  it('search with a repeated id is a 400, not a crash', async () => {
    const res = await api(t.hub, 'GET', '/api/v1/attendance/search?id=a&id=b');
    assert.equal(res.status, 400);
    assert.equal(typeof res.body.message, 'string');
  });

  it('search for an unknown id is a 404 with a message', async () => {
    const res = await api(t.hub, 'GET', '/api/v1/attendance/search?id=nobody');
    assert.equal(res.status, 404);
    assert.match(res.body.message, /nobody/);
  });

  it('search/all lists every record ordered by id, then date', async () => {
    const res = await api(t.hub, 'GET', '/api/v1/attendance/search/all');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /application\/json/);
    const keys = res.body.map((r: any) => `${r.id}/${r.date}`);
    assert.deepEqual(keys, ['E100/2026-11-02', 'E101/2026-11-03', 'E102/2026-11-05', 'E102/2026-11-06', 'E102/2026-11-07']);
    assert.deepEqual(Object.keys(res.body[0]), ['id', 'name', 'status', 'date']);
  });

  describe('bad input to create: 400 Validation Error naming the field, and nothing written', () => {
    const cases: Array<[string, unknown, string]> = [
      ['missing field', { id: 'X1', name: 'n', status: 's' }, 'date'],
      ['wrong type', { id: 7, name: 'n', status: 's', date: '2026-01-01' }, 'id'],
      ['bad date', { id: 'X1', name: 'n', status: 's', date: '2026-02-30' }, 'date'],
      ['not a date', { id: 'X1', name: 'n', status: 's', date: 'yesterday' }, 'date'],
      // PostgreSQL has no year 0: this one reached the database and came back a 500.
      ['year 0', { id: 'X1', name: 'n', status: 's', date: '0000-01-01' }, 'date'],
      ['extra field', { id: 'X1', name: 'n', status: 's', date: '2026-01-01', admin: true }, '(body)'],
      ['blank name', { id: 'X1', name: '  ', status: 's', date: '2026-01-01' }, 'name'],
      ['NUL in a name', { id: 'X1', name: 'n\u0000', status: 's', date: '2026-01-01' }, 'name'],
      ['NUL in a status', { id: 'X1', name: 'n', status: 'in\u0000', date: '2026-01-01' }, 'status'],
      ['NUL ending an id', { id: 'X1\u0000', name: 'n', status: 's', date: '2026-01-01' }, 'id'],
      ['array body', [{ id: 'X1' }], '(body)'],
    ];
    for (const [label, body, field] of cases) {
      it(label, async () => {
        const res = await create(body);
        assert.equal(res.status, 400);
        assert.equal(res.body.error, 'Validation Error');
        assert.ok(res.body.details.some((d: any) => d.field === field), JSON.stringify(res.body.details));
        assert.equal((await t.tdb.db('records').where({ employee_id: 'X1' })).length, 0);
        assert.equal((await t.tdb.db('employees').where({ id: 'X1' })).length, 0);
      });
    }

    it('malformed JSON', async () => {
      const res = await create('{"id": "X1",');
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'Validation Error');
    });
  });

  it('health answers with the old message', async () => {
    const res = await api(t.hub, 'GET', '/api/v1/attendance/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: 'Attendance API is running fine and ready to serve requests' });
  });

  it('health/detail reports each dependency (redis disabled on a single node)', async () => {
    const res = await api(t.hub, 'GET', '/api/v1/attendance/health/detail');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      message: 'Attendance API is running fine and ready to serve requests',
      postgresql: 'up',
      redis: 'disabled',
      status: 'up',
    });
  });
});

describe('health when PostgreSQL is unreachable', () => {
  it('answers 503 with the old unhealthy message and postgresql down', async () => {
    // A hub of its own: over a database that is not there, which useTestHub cannot give.
    const { createDb } = await import('../server/db/knex.js');
    const { pino } = await import('pino');
    const db = createDb('postgres://postgres@127.0.0.1:1/none', { poolMax: 2 }, pino({ level: 'silent' }));
    const hub = await startTestHub({ db, admin: false });
    try {
      const res = await api(hub, 'GET', '/api/v1/attendance/health');
      assert.equal(res.status, 503);
      assert.deepEqual(res.body, { message: 'Attendance API is not healthy, please check logs' });
      const detail = await api(hub, 'GET', '/api/v1/attendance/health/detail');
      assert.equal(detail.status, 503);
      assert.equal(detail.body.postgresql, 'down');
      assert.equal(detail.body.status, 'down');
    } finally {
      await hub.stop();
      await db.destroy();
    }
  });
});
