import assert from 'node:assert/strict';
import type { Knex } from '../server/db/knex.js';
import { PresenceAnswer } from '../shared/schemas.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

/**
 * Who is expected and not in, over HTTP, at a hub whose clock the test sets. Berlin in June is UTC+2:
 * the day shift's 09:00 is 07:00Z, its window opens at 06:00Z (60 minutes before); the late shift's
 * 14:00 is 12:00Z; the night shift's 22:00 is 20:00Z, ending 04:00Z the next morning. Mon 2 June 2025.
 */
describe('presence: who is expected and not in', () => {
  let now = new Date('2025-06-02T07:12:30Z');
  const t = useTestHub({ seed, clock: () => now });

  async function seed(db: Knex) {
    await makeSite(db, { id: 'S', timeZone: 'Europe/Berlin' });
    await makeSite(db, { id: 'T', timeZone: 'Europe/Berlin' });
    for (const [id, name] of Object.entries({ A: 'Ann', B: 'Ben', C: 'Cleo', D: 'Dev', L: 'Lou', N: 'Nia', U: 'Uma' })) await makeEmployee(db, { id, name, siteId: 'S' });
    await makeEmployee(db, { id: 'I', name: 'Ida', siteId: 'S', active: false });
    // Cleo came and went before her window opened: that visit does not count for the shift.
    await storeCheckins(db, [
      { employeeId: 'C', siteId: 'S', type: 'in', occurredAt: '2025-06-02T05:30:00Z' },
      { employeeId: 'C', siteId: 'S', type: 'out', occurredAt: '2025-06-02T05:45:00Z' },
    ]);
  }

  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await api(t.hub, method, path, body);
    assert.ok(res.status === 200 || res.status === 201, `${method} ${path}: ${res.status} ${res.text}`);
    return res;
  };
  const expected = async (site = 'S') => PresenceAnswer.parse((await ok('GET', `/api/v1/presence?siteId=${site}`)).body).expected;

  before(async () => {
    await ok('POST', '/api/v1/sites/S/shifts', { id: 'day', name: 'Day', start: '09:00', end: '17:00', lateGraceMinutes: 5 });
    await ok('POST', '/api/v1/sites/S/shifts', { id: 'late', name: 'Late', start: '14:00', end: '22:00' });
    await ok('POST', '/api/v1/sites/S/shifts', { id: 'night', name: 'Night', start: '22:00', end: '06:00', weekdays: [1, 2, 3, 4, 5, 6, 7] });
    for (const id of ['A', 'B', 'C', 'D']) await ok('POST', `/api/v1/employees/${id}/shift-assignments`, { shiftId: 'day', from: '2025-05-01' });
    await ok('POST', '/api/v1/employees/L/shift-assignments', { shiftId: 'late', from: '2025-05-01' });
    await ok('POST', '/api/v1/employees/N/shift-assignments', { shiftId: 'night', from: '2025-05-01' });
    // Ida left: inactive, though still assigned.
    await t.tdb.db('shift_assignments').insert({ employee_id: 'I', shift_id: 'day', from_date: '2025-05-01' });
    await ok('POST', '/api/v1/employees/B/leave', { kind: 'sick', from: '2025-06-02', to: '2025-06-02' });
    await ok('POST', '/api/v1/sites/S/holidays', { date: '2025-06-04', name: 'Closed' });
  });

  it('lists who is late for a started shift, with whole minutes since its start; not those on leave, off, inactive or not yet due', async () => {
    // 09:12:30: twelve minutes late (seconds dropped), whatever the grace. Lou's shift is at 14:00, Nia's at 22:00.
    const answer = await expected();
    assert.deepEqual(answer.entries, [
      { employeeId: 'A', name: 'Ann', shiftId: 'day', shiftName: 'Day', opens: '2025-06-02T06:00:00.000Z', start: '2025-06-02T07:00:00.000Z', end: '2025-06-02T15:00:00.000Z', lateMinutes: 12 },
      { employeeId: 'C', name: 'Cleo', shiftId: 'day', shiftName: 'Day', opens: '2025-06-02T06:00:00.000Z', start: '2025-06-02T07:00:00.000Z', end: '2025-06-02T15:00:00.000Z', lateMinutes: 12 },
      { employeeId: 'D', name: 'Dev', shiftId: 'day', shiftName: 'Day', opens: '2025-06-02T06:00:00.000Z', start: '2025-06-02T07:00:00.000Z', end: '2025-06-02T15:00:00.000Z', lateMinutes: 12 },
    ]);
    assert.equal(answer.asOf, '2025-06-02T07:12:30.000Z');
    // Nothing changes by the clock before Lou's shift starts (the day shift ends at 15:00Z, later).
    assert.equal(answer.changesAt, '2025-06-02T12:00:00.000Z');
  });

  it('someone who checks in at the site drops off at once; a check-in at another site does not count here', async () => {
    const { seq } = await expected();
    const cleo = await ok('POST', '/api/v1/checkins', { employeeId: 'C', type: 'in', occurredAt: '2025-06-02T07:10:00Z' });
    await ok('POST', '/api/v1/checkins', { employeeId: 'D', type: 'in', siteId: 'T', occurredAt: '2025-06-02T07:05:00Z' });
    now = new Date('2025-06-02T07:20:00Z');
    const answer = await expected();
    assert.deepEqual(answer.entries.map((e) => [e.employeeId, e.lateMinutes]), [
      ['A', 20],
      ['D', 20],
    ]);
    // The answer holds every event up to its seq, Cleo's check-in among them.
    assert.ok(answer.seq > seq && answer.seq >= cleo.body.data.seq, `seq ${answer.seq} after ${cleo.body.data.seq}`);
  });

  it('a night shift after midnight still lists its person, late since the evening before, until they come', async () => {
    // Tuesday 00:40 in Berlin: Monday's night run started at 22:00 (20:00Z), 160 minutes ago.
    now = new Date('2025-06-02T22:40:00Z');
    const answer = await expected();
    assert.deepEqual(answer.entries, [
      { employeeId: 'N', name: 'Nia', shiftId: 'night', shiftName: 'Night', opens: '2025-06-02T19:00:00.000Z', start: '2025-06-02T20:00:00.000Z', end: '2025-06-03T04:00:00.000Z', lateMinutes: 160 },
    ]);
    // Her run ends at 06:00 (04:00Z), before Tuesday's day shift starts.
    assert.equal(answer.changesAt, '2025-06-03T04:00:00.000Z');
    await ok('POST', '/api/v1/checkins', { employeeId: 'N', type: 'in', occurredAt: '2025-06-02T22:41:00Z' });
    assert.deepEqual((await expected()).entries, []);
  });

  it('a holiday lists nobody, and the next change is the first shift after it', async () => {
    now = new Date('2025-06-04T08:00:00Z');
    const answer = await expected();
    assert.deepEqual(answer.entries, []);
    // Wednesday's runs, the night one too, fall on the holiday; Thursday's day shift is the next.
    assert.equal(answer.changesAt, '2025-06-05T07:00:00.000Z');
  });

  it('with nothing scheduled before it, the next change is the start of the day after next (ask again then)', async () => {
    now = new Date('2025-06-02T07:12:30Z');
    const answer = await expected('T');
    assert.deepEqual(answer.entries, []);
    // Monday 09:12 in Berlin: the day after next, Wednesday, starts at 00:00 (2025-06-03T22:00Z).
    assert.equal(answer.changesAt, '2025-06-03T22:00:00.000Z');
  });

  it('a manager sees their own site’s list and is refused another’s (403)', async () => {
    now = new Date('2025-06-02T07:12:30Z');
    const manager = `Bearer ${await t.hub.token('manager', ['T'])}`;
    assert.equal((await api(t.hub, 'GET', '/api/v1/presence?siteId=T', undefined, { authorization: manager })).status, 200);
    const refused = await api(t.hub, 'GET', '/api/v1/presence?siteId=S', undefined, { authorization: manager });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');
    assert.equal((await api(t.hub, 'GET', '/api/v1/presence?siteId=NOPE')).status, 404);
  });
});
