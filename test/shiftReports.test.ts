import assert from 'node:assert/strict';
import type { Knex } from '../server/db/knex.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

type Punch = [employeeId: string, type: 'in' | 'out', occurredAt: string];

/**
 * The daily report and timesheets with shifts, holidays and leave, over HTTP: each row's figures
 * hand-computed from the shift's local wall times (Berlin, UTC+2 in June). The rules themselves are
 * unit-tested in scheduleRules.test.ts; this pins what the report makes of them.
 */
describe('reports with shifts: late, early exit, overtime, half days, holidays, leave, nights', () => {
  const t = useTestHub({ seed });

  async function seed(db: Knex) {
    await makeSite(db, { id: 'S', timeZone: 'Europe/Berlin' });
    for (const id of ['A', 'B', 'C', 'D', 'N', 'U']) await makeEmployee(db, { id, siteId: 'S' });
    const punches: Punch[] = [
      // Monday 1 June 2026.
      ['A', 'in', '2026-06-01T09:12:00+02:00'],
      ['A', 'out', '2026-06-01T16:50:00+02:00'],
      ['B', 'in', '2026-06-01T08:30:00+02:00'],
      ['B', 'out', '2026-06-01T18:00:00+02:00'],
      ['D', 'in', '2026-06-01T09:00:00+02:00'],
      ['D', 'out', '2026-06-01T11:00:00+02:00'],
      ['N', 'in', '2026-06-01T22:05:00+02:00'],
      ['N', 'out', '2026-06-02T06:00:00+02:00'],
      // 00:15 on Wednesday belongs to Tuesday's night shift, which started at 22:00.
      ['N', 'in', '2026-06-03T00:15:00+02:00'],
      ['N', 'out', '2026-06-03T06:00:00+02:00'],
      ['U', 'in', '2026-06-01T10:00:00+02:00'],
      ['U', 'out', '2026-06-01T12:00:00+02:00'],
    ];
    await storeCheckins(db, punches.map(([employeeId, type, occurredAt]) => ({ employeeId, type, occurredAt })));
  }

  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await api(t.hub, method, path, body);
    assert.ok(res.status === 200 || res.status === 201, `${method} ${path}: ${res.status} ${res.text}`);
    return res;
  };

  before(async () => {
    await ok('POST', '/api/v1/sites/S/shifts', {
      id: 'day',
      name: 'Day',
      start: '09:00',
      end: '17:00',
      breakMinutes: 30,
      lateGraceMinutes: 5,
      earlyGraceMinutes: 5,
      overtimeAfterMinutes: 15,
      halfDayBelowMinutes: 240,
    });
    await ok('POST', '/api/v1/sites/S/shifts', { id: 'night', name: 'Night', start: '22:00', end: '06:00', weekdays: [1, 2, 3, 4, 5, 6, 7] });
    for (const id of ['A', 'B', 'C', 'D']) await ok('POST', `/api/v1/employees/${id}/shift-assignments`, { shiftId: 'day', from: '2026-05-01' });
    await ok('POST', '/api/v1/employees/N/shift-assignments', { shiftId: 'night', from: '2026-05-01' });
    await ok('POST', '/api/v1/sites/S/holidays', { date: '2026-06-03', name: 'Closed' });
    await ok('POST', '/api/v1/employees/C/leave', { kind: 'vacation', from: '2026-06-02', to: '2026-06-02' });
  });

  const daily = async (date: string) => {
    const res = await ok('GET', `/api/v1/reports/daily?siteId=S&date=${date}`);
    return new Map<string, any>(res.body.data.map((row: any) => [row.employeeId, row]));
  };
  const figures = (row: any) => ({
    shiftId: row.shiftId,
    workedMinutes: row.workedMinutes,
    scheduledMinutes: row.scheduledMinutes,
    lateMinutes: row.lateMinutes,
    earlyExitMinutes: row.earlyExitMinutes,
    overtimeMinutes: row.overtimeMinutes,
    status: row.status,
  });

  it('late beyond the grace counts from the start; early exit to the end; the break comes off the worked time', async () => {
    // 09:12–16:50 is 458 minutes, less the 30-minute break: 428; the shift is 480 − 30 = 450.
    assert.deepEqual(figures((await daily('2026-06-01')).get('A')), {
      shiftId: 'day',
      workedMinutes: 428,
      scheduledMinutes: 450,
      lateMinutes: 12,
      earlyExitMinutes: 10,
      overtimeMinutes: 0,
      status: 'present',
    });
  });

  it('overtime is all of worked minus scheduled once that exceeds overtimeAfterMinutes; early arrival is not late', async () => {
    // 08:30–18:00 is 570 minutes, 540 after the break: 90 over the 450 scheduled.
    assert.deepEqual(figures((await daily('2026-06-01')).get('B')), {
      shiftId: 'day',
      workedMinutes: 540,
      scheduledMinutes: 450,
      lateMinutes: 0,
      earlyExitMinutes: 0,
      overtimeMinutes: 90,
      status: 'present',
    });
  });

  it('worked below halfDayBelowMinutes is a half day', async () => {
    const d = figures((await daily('2026-06-01')).get('D'));
    assert.deepEqual([d.workedMinutes, d.earlyExitMinutes, d.status], [90, 360, 'half_day']);
  });

  it('a scheduled day with nothing is absent; leave, a holiday and a day the shift does not run say so', async () => {
    assert.equal((await daily('2026-06-01')).get('C').status, 'absent');
    assert.equal((await daily('2026-06-02')).get('C').status, 'on_leave');
    assert.equal((await daily('2026-06-03')).get('C').status, 'holiday');
    const saturday = (await daily('2026-06-06')).get('C');
    assert.deepEqual([saturday.status, saturday.scheduledMinutes], ['off', 0]);
  });

  it('a night shift: a check-in after midnight is late for the shift that started the evening before', async () => {
    assert.deepEqual(figures((await daily('2026-06-01')).get('N')), {
      shiftId: 'night',
      workedMinutes: 475,
      scheduledMinutes: 480,
      lateMinutes: 5,
      earlyExitMinutes: 0,
      overtimeMinutes: 0,
      status: 'present',
    });
    // Listed on Tuesday's report although both its punches fall on Wednesday's date.
    const tuesday = figures((await daily('2026-06-02')).get('N'));
    assert.deepEqual([tuesday.workedMinutes, tuesday.lateMinutes, tuesday.status], [345, 135, 'present']);
    // Wednesday's own night had no session: the 00:15 check-in is not counted twice.
    const wednesday = (await daily('2026-06-03')).get('N');
    assert.deepEqual([wednesday.sessions, wednesday.status], [0, 'holiday']);
  });

  it('without a shift, the day rules stand: worked as punched, nothing scheduled', async () => {
    assert.deepEqual(figures((await daily('2026-06-01')).get('U')), {
      shiftId: null,
      workedMinutes: 120,
      scheduledMinutes: 0,
      lateMinutes: 0,
      earlyExitMinutes: 0,
      overtimeMinutes: 0,
      status: 'present',
    });
  });

  it('the summary adds up each employee’s days over a range, as JSON and CSV', async () => {
    const res = await ok('GET', '/api/v1/reports/summary?siteId=S&from=2026-06-01&to=2026-06-06');
    const rows = new Map<string, any>(res.body.data.map((r: any) => [r.employeeId, r]));
    assert.deepEqual([...rows.keys()], ['A', 'B', 'C', 'D', 'N', 'U']);
    // C: Monday absent, Tuesday on leave, Wednesday the holiday, Thursday and Friday absent, Saturday off.
    const { employeeId, name, ...c } = rows.get('C');
    assert.deepEqual(c, {
      from: '2026-06-01',
      to: '2026-06-06',
      daysPresent: 0,
      daysHalf: 0,
      daysAbsent: 3,
      daysLate: 0,
      daysOnLeave: 1,
      daysHoliday: 1,
      workedMinutes: 0,
      lateMinutes: 0,
      overtimeMinutes: 0,
    });
    // N: Monday's night (late 5) and Tuesday's (late 135) worked; Wednesday the holiday; Thursday to Saturday absent.
    const n = rows.get('N');
    assert.deepEqual(
      [n.daysPresent, n.daysLate, n.daysHoliday, n.daysAbsent, n.workedMinutes, n.lateMinutes],
      [2, 2, 1, 3, 475 + 345, 5 + 135],
    );
    const csv = await ok('GET', '/api/v1/reports/summary?siteId=S&from=2026-06-01&to=2026-06-06&format=csv');
    const lines = csv.text.split('\r\n');
    assert.equal(lines[0], 'employeeId,name,from,to,daysPresent,daysHalf,daysAbsent,daysLate,daysOnLeave,daysHoliday,workedMinutes,lateMinutes,overtimeMinutes');
    assert.equal(lines.find((l) => l.startsWith('B,')), 'B,B,2026-06-01,2026-06-06,1,0,3,0,0,1,540,0,90');
  });

  it('a timesheet carries the same figures day by day, and the CSV has the columns', async () => {
    const sheet = await ok('GET', '/api/v1/employees/N/timesheet?from=2026-06-01&to=2026-06-02');
    assert.deepEqual(
      sheet.body.data.map((d: any) => [d.date, d.shiftId, d.workedMinutes, d.lateMinutes, d.status]),
      [
        ['2026-06-01', 'night', 475, 5, 'present'],
        ['2026-06-02', 'night', 345, 135, 'present'],
      ],
    );
    const csv = await ok('GET', '/api/v1/reports/daily?siteId=S&date=2026-06-01&format=csv');
    const lines = csv.text.split('\r\n');
    assert.equal(lines[0], 'employeeId,name,date,shiftId,firstIn,lastOut,workedMinutes,sessions,scheduledMinutes,lateMinutes,earlyExitMinutes,overtimeMinutes,status,flags');
    assert.equal(lines.find((l) => l.startsWith('A,')), 'A,A,2026-06-01,day,2026-06-01T07:12:00.000Z,2026-06-01T14:50:00.000Z,428,1,450,12,10,0,present,');
  });
});
