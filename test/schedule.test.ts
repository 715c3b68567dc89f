import assert from 'node:assert/strict';
import type { Knex } from '../server/db/knex.js';
import { api, useTestHub } from './support/hub.js';

async function seed(db: Knex) {
  await db('sites').insert([
    { id: 'S1', name: 'One', time_zone: 'Europe/Berlin' },
    { id: 'S2', name: 'Two', time_zone: 'UTC' },
  ]);
  await db('employees').insert([
    { id: 'E1', name: 'Ann', site_id: 'S1' },
    { id: 'E2', name: 'Ben', site_id: 'S2' },
  ]);
}

describe('shifts, assignments, holidays and leave over REST', () => {
  const t = useTestHub({ seed });
  const call = (method: string, path: string, body?: unknown, token?: string) =>
    api(t.hub, method, path, body, token === undefined ? {} : { authorization: `Bearer ${token}` });
  const day = { id: 'day', name: 'Day', start: '09:00', end: '17:00' };

  it('creates a shift with the documented defaults and lists the site’s shifts', async () => {
    const res = await call('POST', '/api/v1/sites/S1/shifts', day);
    assert.equal(res.status, 201, res.text);
    const { createdAt, updatedAt, ...shift } = res.body.data;
    assert.deepEqual(shift, {
      id: 'day',
      siteId: 'S1',
      name: 'Day',
      start: '09:00',
      end: '17:00',
      weekdays: [1, 2, 3, 4, 5],
      breakMinutes: 0,
      lateGraceMinutes: 0,
      earlyGraceMinutes: 0,
      checkInBeforeMinutes: 60,
      halfDayBelowMinutes: null,
      overtimeAfterMinutes: 0,
      active: true,
    });
    assert.ok(createdAt && updatedAt);
    const list = await call('GET', '/api/v1/sites/S1/shifts');
    assert.deepEqual(list.body.data.map((s: { id: string }) => s.id), ['day']);
    assert.deepEqual((await call('GET', '/api/v1/sites/S2/shifts')).body.data, []);
  });

  it('refuses bad shifts with 400 validation_failed and writes nothing', async () => {
    for (const bad of [
      { ...day, id: 'x1', start: '24:00' },
      { ...day, id: 'x2', end: '9:00' },
      { ...day, id: 'x3', weekdays: [0] },
      { ...day, id: 'x4', weekdays: [1, 1] },
      { ...day, id: 'x5', weekdays: [] },
      { ...day, id: 'x6', breakMinutes: -1 },
      { ...day, id: 'x7', lateGraceMinutes: 1.5 },
      { ...day, id: 'x8', extra: true },
      { id: 'x9', name: 'No times' },
    ]) {
      const res = await call('POST', '/api/v1/sites/S1/shifts', bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.error.code, 'validation_failed');
    }
    assert.equal((await t.tdb.db('shifts').where('id', 'like', 'x%')).length, 0);
  });

  it('a duplicate shift id is 409 shift_exists; an unknown site 404; a shift of another site 404 on update', async () => {
    await call('POST', '/api/v1/sites/S1/shifts', { ...day, id: 'dup' });
    assert.equal((await call('POST', '/api/v1/sites/S1/shifts', { ...day, id: 'dup' })).body.error.code, 'shift_exists');
    assert.equal((await call('POST', '/api/v1/sites/nowhere/shifts', { ...day, id: 'n1' })).status, 404);
    const other = await call('PATCH', '/api/v1/sites/S2/shifts/dup', { name: 'Stolen' });
    assert.deepEqual([other.status, other.body.error.code], [404, 'shift_not_found']);
    const renamed = await call('PATCH', '/api/v1/sites/S1/shifts/dup', { name: 'Renamed', halfDayBelowMinutes: 240 });
    assert.equal(renamed.status, 200, renamed.text);
    assert.deepEqual([renamed.body.data.name, renamed.body.data.halfDayBelowMinutes], ['Renamed', 240]);
    assert.equal((await call('PATCH', '/api/v1/sites/S1/shifts/dup', {})).status, 400);
  });

  it('an open-ended assignment ends the one before it; a bounded one leaves it as it is', async () => {
    await call('POST', '/api/v1/sites/S1/shifts', { ...day, id: 'late', start: '14:00', end: '22:00' });
    const first = await call('POST', '/api/v1/employees/E1/shift-assignments', { shiftId: 'day', from: '2026-01-05' });
    assert.equal(first.status, 201, first.text);
    const cover = await call('POST', '/api/v1/employees/E1/shift-assignments', { shiftId: 'late', from: '2026-01-12', to: '2026-01-16' });
    assert.equal(cover.status, 201, cover.text);
    const next = await call('POST', '/api/v1/employees/E1/shift-assignments', { shiftId: 'late', from: '2026-02-02' });
    assert.equal(next.status, 201, next.text);
    const list = await call('GET', '/api/v1/employees/E1/shift-assignments');
    assert.deepEqual(
      list.body.data.map((a: { shiftId: string; from: string; to: string | null }) => [a.shiftId, a.from, a.to]),
      [
        ['day', '2026-01-05', '2026-02-01'],
        ['late', '2026-01-12', '2026-01-16'],
        ['late', '2026-02-02', null],
      ],
    );
    const removed = await call('DELETE', `/api/v1/employees/E1/shift-assignments/${cover.body.data.id}`);
    assert.equal(removed.status, 200);
    assert.equal((await call('DELETE', `/api/v1/employees/E1/shift-assignments/${cover.body.data.id}`)).body.error.code, 'assignment_not_found');
  });

  it('refuses a shift of another site (409), an unknown shift or employee (404), and to before from (400)', async () => {
    await call('POST', '/api/v1/sites/S2/shifts', { ...day, id: 's2day' });
    const cases: Array<[string, unknown, number, string]> = [
      ['/api/v1/employees/E1/shift-assignments', { shiftId: 's2day', from: '2026-01-01' }, 409, 'shift_at_other_site'],
      ['/api/v1/employees/E1/shift-assignments', { shiftId: 'nope', from: '2026-01-01' }, 404, 'shift_not_found'],
      ['/api/v1/employees/E9/shift-assignments', { shiftId: 'day', from: '2026-01-01' }, 404, 'employee_not_found'],
      ['/api/v1/employees/E1/shift-assignments', { shiftId: 'day', from: '2026-01-10', to: '2026-01-09' }, 400, 'validation_failed'],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await call('POST', path, body);
      assert.deepEqual([res.status, res.body.error.code], [status, code], JSON.stringify(body));
    }
  });

  it('holidays per site: add, list by range, a second on the same date is 409, remove', async () => {
    assert.equal((await call('POST', '/api/v1/sites/S1/holidays', { date: '2026-12-25', name: 'Christmas' })).status, 201);
    assert.equal((await call('POST', '/api/v1/sites/S1/holidays', { date: '2026-12-26', name: 'Boxing Day' })).status, 201);
    assert.equal((await call('POST', '/api/v1/sites/S1/holidays', { date: '2026-12-25', name: 'Again' })).body.error.code, 'holiday_exists');
    const range = await call('GET', '/api/v1/sites/S1/holidays?from=2026-12-26&to=2026-12-31');
    assert.deepEqual(range.body.data, [{ siteId: 'S1', date: '2026-12-26', name: 'Boxing Day' }]);
    assert.equal((await call('DELETE', '/api/v1/sites/S1/holidays/2026-12-26')).status, 200);
    assert.equal((await call('DELETE', '/api/v1/sites/S1/holidays/2026-12-26')).body.error.code, 'holiday_not_found');
    assert.equal((await call('POST', '/api/v1/sites/S1/holidays', { date: '2026-02-30', name: 'No such day' })).status, 400);
  });

  it('leave per employee: add, list, remove; a bad kind or range is 400', async () => {
    const added = await call('POST', '/api/v1/employees/E1/leave', { kind: 'vacation', from: '2026-03-02', to: '2026-03-06', note: 'Alps' });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual((await call('GET', '/api/v1/employees/E1/leave')).body.data.map((l: { kind: string; from: string; to: string }) => [l.kind, l.from, l.to]), [['vacation', '2026-03-02', '2026-03-06']]);
    for (const bad of [{ kind: 'holiday', from: '2026-03-02', to: '2026-03-02' }, { kind: 'sick', from: '2026-03-02', to: '2026-03-01' }]) {
      assert.equal((await call('POST', '/api/v1/employees/E1/leave', bad)).status, 400);
    }
    assert.equal((await call('DELETE', `/api/v1/employees/E1/leave/${added.body.data.id}`)).status, 200);
    assert.deepEqual((await call('GET', '/api/v1/employees/E1/leave')).body.data, []);
  });

  it('a manager keeps its own sites’ schedules only; kiosks and dashboards none', async () => {
    const manager = await t.hub.token('manager', ['S1']);
    assert.equal((await call('POST', '/api/v1/sites/S1/shifts', { ...day, id: 'm1' }, manager)).status, 201);
    assert.equal((await call('POST', '/api/v1/sites/S2/shifts', { ...day, id: 'm2' }, manager)).status, 403);
    assert.equal((await call('POST', '/api/v1/employees/E2/leave', { kind: 'sick', from: '2026-03-02', to: '2026-03-02' }, manager)).status, 403);
    assert.equal((await call('GET', '/api/v1/employees/E1/leave', undefined, manager)).status, 200);
    for (const role of ['kiosk', 'dashboard'] as const) {
      const token = await t.hub.token(role, ['S1']);
      assert.equal((await call('GET', '/api/v1/sites/S1/shifts', undefined, token)).status, 403);
    }
  });

  it('every change is in the audit log', async () => {
    const entities = await t.tdb.db('audit_log').whereIn('entity', ['shift', 'holiday', 'leave', 'shift_assignment']).orWhere('action', 'assign').select('entity', 'action');
    const seen = new Set(entities.map((e) => `${e.entity} ${e.action}`));
    for (const expected of ['shift create', 'shift update', 'employee assign', 'shift_assignment end', 'shift_assignment delete', 'holiday create', 'holiday delete', 'leave create', 'leave delete']) {
      assert.ok(seen.has(expected), `no audit entry "${expected}"`);
    }
  });
});
