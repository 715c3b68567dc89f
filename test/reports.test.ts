import assert from 'node:assert/strict';
import type { Knex } from '../server/db/knex.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

type Punch = [employeeId: string, type: 'in' | 'out', occurredAt: string];

/**
 * The reports' HTTP contract: who is listed, shapes, statuses, CSV and JSON streaming, paging and
 * validation, with a few days end to end. Day and DST arithmetic is unit-tested in attendanceDays.test.ts.
 */
describe('reports: daily attendance, timesheets, CSV', () => {
  const t = useTestHub({ seed });

  async function seed(db: Knex) {
    await makeSite(db, { id: 'S1', timeZone: 'Europe/Berlin' });
    await makeSite(db, { id: 'CSV', timeZone: 'Europe/Berlin' });
    for (const id of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6']) await makeEmployee(db, { id, siteId: 'S1' });
    await makeEmployee(db, { id: 'E7', siteId: 'S1', active: false });
    await makeEmployee(db, { id: 'C1', name: 'Smith, John', siteId: 'CSV' });
    await makeEmployee(db, { id: 'C2', name: 'Ann "Hammer" Lee', siteId: 'CSV' });
    await makeEmployee(db, { id: 'C3', name: 'Zoë Ångström', siteId: 'CSV' });
    await makeEmployee(db, { id: 'C4', name: '=1+2', siteId: 'CSV' });
    const punches: Punch[] = [
      ['E1', 'in', '2026-06-01T08:00:00+02:00'],
      ['E1', 'out', '2026-06-01T16:30:00+02:00'],
      ['E2', 'in', '2026-06-01T08:00:00+02:00'],
      ['E2', 'out', '2026-06-01T12:00:00+02:00'],
      ['E2', 'in', '2026-06-01T13:00:00+02:00'],
      ['E2', 'out', '2026-06-01T17:00:00+02:00'],
      ['E3', 'in', '2026-06-01T22:00:00+02:00'],
      ['E3', 'out', '2026-06-02T06:00:00+02:00'],
      // The nights Berlin's clocks go back (03:00 → 02:00) and forward (02:00 → 03:00).
      ['E4', 'in', '2026-10-24T22:00:00+02:00'],
      ['E4', 'out', '2026-10-25T06:00:00+01:00'],
      ['E4', 'in', '2026-03-28T22:00:00+01:00'],
      ['E4', 'out', '2026-03-29T06:00:00+02:00'],
      ['C1', 'in', '2026-06-01T09:00:00+02:00'],
      ['C1', 'out', '2026-06-01T17:00:00+02:00'],
      ['C3', 'out', '2026-06-01T07:00:00+02:00'],
      ['C3', 'in', '2026-06-01T08:00:00+02:00'],
    ];
    await storeCheckins(db, punches.map(([employeeId, type, occurredAt]) => ({ employeeId, type, occurredAt })));
  }

  before(async () => {
    for (const [id, status] of [['E2', 'late'], ['E6', 'on leave']]) {
      const res = await api(t.hub, 'POST', '/api/v1/attendance/create', { id, name: id, status, date: '2026-06-01' });
      assert.equal(res.status, 200, res.text);
    }
  });

  const daily = async (siteId: string, date: string) => {
    const res = await api(t.hub, 'GET', `/api/v1/reports/daily?siteId=${siteId}&date=${date}`);
    assert.equal(res.status, 200, res.text);
    return new Map<string, any>(res.body.data.map((row: any) => [row.employeeId, row]));
  };

  it('a normal day: first in, last out, worked minutes', async () => {
    const rows = await daily('S1', '2026-06-01');
    assert.deepEqual(rows.get('E1'), {
      employeeId: 'E1',
      name: 'E1',
      date: '2026-06-01',
      shiftId: null,
      firstIn: '2026-06-01T06:00:00.000Z',
      lastOut: '2026-06-01T14:30:00.000Z',
      workedMinutes: 510,
      sessions: 1,
      scheduledMinutes: 0,
      lateMinutes: 0,
      earlyExitMinutes: 0,
      overtimeMinutes: 0,
      status: 'present',
      flags: [],
    });
  });

  it('lists every active employee of the site once, in id order; an inactive one who did not work is left out', async () => {
    const rows = await daily('S1', '2026-06-01');
    assert.deepEqual([...rows.keys()], ['E1', 'E2', 'E3', 'E4', 'E5', 'E6']);
  });

  it('two sessions in a day add up; the older API record status wins', async () => {
    const e2 = (await daily('S1', '2026-06-01')).get('E2');
    assert.deepEqual([e2.sessions, e2.workedMinutes, e2.firstIn, e2.lastOut, e2.status], [2, 480, '2026-06-01T06:00:00.000Z', '2026-06-01T15:00:00.000Z', 'late']);
  });

  it('employees without punches: the older record status, else absent', async () => {
    const rows = await daily('S1', '2026-06-01');
    assert.deepEqual([rows.get('E6').status, rows.get('E6').sessions], ['on leave', 0]);
    assert.deepEqual([rows.get('E4').status, rows.get('E4').sessions, rows.get('E4').firstIn], ['absent', 0, null]);
  });

  it('end to end, a night shift across the DST change counts on the day it started in the site zone, not the next', async () => {
    const night = (await daily('S1', '2026-10-24')).get('E4');
    assert.deepEqual([night.sessions, night.workedMinutes, night.firstIn, night.lastOut], [1, 540, '2026-10-24T20:00:00.000Z', '2026-10-25T05:00:00.000Z']);
    const next = (await daily('S1', '2026-10-25')).get('E4');
    assert.deepEqual([next.sessions, next.workedMinutes, next.status], [0, 0, 'absent']);
  });

  it('reads a large site a page of employees at a time, punches and those who only worked there included on every page', async () => {
    const ids = Array.from({ length: 1201 }, (_, i) => `B${String(i).padStart(4, '0')}`);
    await makeSite(t.tdb.db, { id: 'BIG' });
    await t.tdb.db('employees').insert(ids.map((id) => ({ id, name: id, site_id: 'BIG' })));
    // Around the page boundaries (500 ids a page): one from no site, one from another site, one gone.
    await makeEmployee(t.tdb.db, { id: 'B0499x' });
    await makeEmployee(t.tdb.db, { id: 'B0999x', siteId: 'S1' });
    await makeEmployee(t.tdb.db, { id: 'B1000x', siteId: 'BIG', active: false });
    await storeCheckins(t.tdb.db, [
      { employeeId: 'B1200', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
      { employeeId: 'B1200', type: 'out', occurredAt: '2026-06-01T09:00:00Z' },
      { employeeId: 'B0499x', siteId: 'BIG', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
      { employeeId: 'B0999x', siteId: 'BIG', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
      { employeeId: 'B1000x', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
    ]);
    const rows = await daily('BIG', '2026-06-01');
    assert.deepEqual([...rows.keys()], [...ids, 'B0499x', 'B0999x', 'B1000x'].sort());
    assert.equal(rows.get('B1200').workedMinutes, 60);
  });

  it('a day split between two sites shows on each site only the part worked there; the timesheet shows it whole', async () => {
    await makeSite(t.tdb.db, { id: 'SPA', timeZone: 'Europe/Berlin' });
    await makeSite(t.tdb.db, { id: 'SPB', timeZone: 'Europe/Berlin' });
    await makeEmployee(t.tdb.db, { id: 'SPLIT', siteId: 'SPA' });
    await storeCheckins(t.tdb.db, [
      { employeeId: 'SPLIT', siteId: 'SPA', type: 'in', occurredAt: '2026-06-01T08:00:00+02:00' },
      { employeeId: 'SPLIT', siteId: 'SPA', type: 'out', occurredAt: '2026-06-01T12:00:00+02:00' },
      { employeeId: 'SPLIT', siteId: 'SPB', type: 'in', occurredAt: '2026-06-01T13:00:00+02:00' },
      { employeeId: 'SPLIT', siteId: 'SPB', type: 'out', occurredAt: '2026-06-01T15:00:00+02:00' },
      // Checked out at SPB with nothing open: flagged there, not at SPA.
      { employeeId: 'SPLIT', siteId: 'SPB', type: 'out', occurredAt: '2026-06-01T16:00:00+02:00' },
    ]);
    const row = (r: any) => [r.sessions, r.workedMinutes, r.firstIn, r.lastOut, r.flags];
    assert.deepEqual(row((await daily('SPA', '2026-06-01')).get('SPLIT')), [1, 240, '2026-06-01T06:00:00.000Z', '2026-06-01T10:00:00.000Z', []]);
    assert.deepEqual(row((await daily('SPB', '2026-06-01')).get('SPLIT')), [1, 120, '2026-06-01T11:00:00.000Z', '2026-06-01T13:00:00.000Z', ['unmatched_checkout']]);
    const sheet = await api(t.hub, 'GET', '/api/v1/employees/SPLIT/timesheet?from=2026-06-01&to=2026-06-01');
    assert.deepEqual(row(sheet.body.data[0]), [2, 360, '2026-06-01T06:00:00.000Z', '2026-06-01T13:00:00.000Z', ['unmatched_checkout']]);
  });

  describe('employees deactivated, moved or without a site', () => {
    // OLD and NEW are an hour's drive apart but in different zones, so a day's bounds differ.
    before(async () => {
      const db = t.tdb.db;
      await makeSite(db, { id: 'OLD', timeZone: 'Europe/Berlin' });
      await makeSite(db, { id: 'NEW', timeZone: 'America/New_York' });
      await makeEmployee(db, { id: 'H1', siteId: 'OLD' });
      await makeEmployee(db, { id: 'H2', siteId: 'NEW' });
      await makeEmployee(db, { id: 'GONE', siteId: 'OLD' });
      await makeEmployee(db, { id: 'GONE2', siteId: 'OLD' });
      await makeEmployee(db, { id: 'MOVED', siteId: 'OLD' });
      await makeEmployee(db, { id: 'VISIT', siteId: 'OLD' });
      await storeCheckins(db, [
        { employeeId: 'GONE', siteId: 'OLD', type: 'in', occurredAt: '2026-06-01T08:00:00+02:00' },
        { employeeId: 'GONE', siteId: 'OLD', type: 'out', occurredAt: '2026-06-01T12:00:00+02:00' },
        // A punch with no site counts at the employee's own site.
        { employeeId: 'GONE2', type: 'in', occurredAt: '2026-06-01T09:00:00+02:00' },
        { employeeId: 'GONE2', type: 'out', occurredAt: '2026-06-01T10:00:00+02:00' },
        { employeeId: 'MOVED', siteId: 'OLD', type: 'in', occurredAt: '2026-06-01T08:00:00+02:00' },
        { employeeId: 'MOVED', siteId: 'OLD', type: 'out', occurredAt: '2026-06-01T16:00:00+02:00' },
        { employeeId: 'MOVED', siteId: 'NEW', type: 'in', occurredAt: '2026-06-03T08:00:00-04:00' },
        { employeeId: 'MOVED', siteId: 'NEW', type: 'out', occurredAt: '2026-06-03T10:00:00-04:00' },
        // 22:00 on June 4 in New York is June 5 in UTC and in Berlin.
        { employeeId: 'VISIT', siteId: 'NEW', type: 'in', occurredAt: '2026-06-04T22:00:00-04:00' },
        { employeeId: 'VISIT', siteId: 'NEW', type: 'out', occurredAt: '2026-06-04T23:00:00-04:00' },
      ]);
      await db('employees').whereIn('id', ['GONE', 'GONE2']).update({ active: false });
      await db('employees').where({ id: 'MOVED' }).update({ site_id: 'NEW' });
      // NOSITE has no site and punched at OLD; LONER has no site and only an older-API record.
      for (const id of ['NOSITE', 'LONER']) {
        const res = await api(t.hub, 'POST', '/api/v1/attendance/create', { id, name: id, status: 'late', date: '2026-06-01' });
        assert.equal(res.status, 200, res.text);
      }
      await storeCheckins(db, [{ employeeId: 'NOSITE', siteId: 'OLD', type: 'in', occurredAt: '2026-06-01T07:00:00+02:00' }]);
    });

    const worked = (row: any) => row && [row.sessions, row.workedMinutes, row.status];

    it('a deactivated employee appears on the days they worked at the site, by a check-in there or one with no site', async () => {
      const rows = await daily('OLD', '2026-06-01');
      assert.deepEqual(worked(rows.get('GONE')), [1, 240, 'present']);
      assert.deepEqual(worked(rows.get('GONE2')), [1, 60, 'present']);
      assert.deepEqual(worked(rows.get('H1')), [0, 0, 'absent']);
    });

    it('a deactivated employee who did not work that day is left out', async () => {
      const rows = await daily('OLD', '2026-06-02');
      assert.deepEqual([...rows.keys()], ['H1', 'VISIT']);
      assert.deepEqual(worked(rows.get('H1')), [0, 0, 'absent']);
      assert.equal((await daily('OLD', '2026-06-01')).has('GONE'), true);
    });

    it('a moved employee appears on the old site for the days they worked there, not on the new one', async () => {
      const onOld = await daily('OLD', '2026-06-01');
      assert.deepEqual(worked(onOld.get('MOVED')), [1, 480, 'present']);
      assert.deepEqual([...(await daily('NEW', '2026-06-01')).keys()], ['H2']);
    });

    it('a moved employee appears on the new site for the days they worked there, not on the old one', async () => {
      assert.deepEqual(worked((await daily('NEW', '2026-06-03')).get('MOVED')), [1, 120, 'present']);
      assert.equal((await daily('OLD', '2026-06-03')).has('MOVED'), false);
      assert.equal((await daily('OLD', '2026-06-01')).has('MOVED'), true);
    });

    it('a session counts on the date of its check-in in the zone of the site it was made at', async () => {
      assert.deepEqual(worked((await daily('NEW', '2026-06-04')).get('VISIT')), [1, 60, 'present']);
      assert.equal((await daily('NEW', '2026-06-05')).has('VISIT'), false);
      // Working at another site that day is not being absent from one's own.
      assert.equal((await daily('OLD', '2026-06-04')).has('VISIT'), false);
      assert.deepEqual(worked((await daily('OLD', '2026-06-05')).get('VISIT')), [0, 0, 'absent']);
    });

    it('an employee with no site appears, with their older-API status, where they worked that day', async () => {
      const rows = await daily('OLD', '2026-06-01');
      assert.deepEqual(worked(rows.get('NOSITE')), [1, 0, 'late']);
      assert.deepEqual([...rows.keys()], ['GONE', 'GONE2', 'H1', 'MOVED', 'NOSITE', 'VISIT']);
    });

    it('the CSV lists the same employees', async () => {
      const res = await api(t.hub, 'GET', '/api/v1/reports/daily?siteId=OLD&date=2026-06-01&format=csv');
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.text.split('\r\n').slice(1, -1).map((line: string) => line.split(',')[0]),
        ['GONE', 'GONE2', 'H1', 'MOVED', 'NOSITE', 'VISIT'],
      );
    });
  });

  describe('CSV', () => {
    const expected = [
      'employeeId,name,date,shiftId,firstIn,lastOut,workedMinutes,sessions,scheduledMinutes,lateMinutes,earlyExitMinutes,overtimeMinutes,status,flags',
      'C1,"Smith, John",2026-06-01,,2026-06-01T07:00:00.000Z,2026-06-01T15:00:00.000Z,480,1,0,0,0,0,present,',
      'C2,"Ann ""Hammer"" Lee",2026-06-01,,,,0,0,0,0,0,0,absent,',
      'C3,Zoë Ångström,2026-06-01,,2026-06-01T06:00:00.000Z,,0,1,0,0,0,0,present,missing_checkout;unmatched_checkout',
      "C4,'=1+2,2026-06-01,,,,0,0,0,0,0,0,absent,",
      '',
    ].join('\r\n');

    for (const [label, query, headers] of [
      ['with Accept: text/csv', '', { accept: 'text/csv' }],
      ['with format=csv', '&format=csv', {}],
    ] as const) {
      it(`streams the same report ${label}: RFC 4180 quoting, UTF-8, flags joined with ;`, async () => {
        const res = await api(t.hub, 'GET', `/api/v1/reports/daily?siteId=CSV&date=2026-06-01${query}`, undefined, headers);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
        assert.equal(res.headers.get('content-disposition'), 'attachment; filename="daily-CSV-2026-06-01.csv"');
        assert.equal(res.text, expected);
      });
    }

    it('streams the JSON too, a page at a time, never held whole: chunked, no Content-Length', async () => {
      const res = await api(t.hub, 'GET', '/api/v1/reports/daily?siteId=CSV&date=2026-06-01');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(res.headers.get('content-length'), null);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      assert.deepEqual(res.body.data.map((r: any) => r.employeeId), ['C1', 'C2', 'C3', 'C4']);
    });

    it('a site with nobody to list answers an empty list, streamed too', async () => {
      await makeSite(t.tdb.db, { id: 'EMPTY' });
      const res = await api(t.hub, 'GET', '/api/v1/reports/daily?siteId=EMPTY&date=2026-06-01');
      assert.equal(res.status, 200);
      assert.equal(res.text, '{"data":[]}');
    });

    it('format=json wins over Accept: text/csv', async () => {
      const res = await api(t.hub, 'GET', '/api/v1/reports/daily?siteId=CSV&date=2026-06-01&format=json', undefined, { accept: 'text/csv' });
      assert.equal(res.status, 200);
      assert.equal(res.body.data[1].name, 'Ann "Hammer" Lee');
    });
  });

  describe('timesheet', () => {
    const timesheet = (id: string, from: string, to: string) => api(t.hub, 'GET', `/api/v1/employees/${id}/timesheet?from=${from}&to=${to}`);

    it('one row per day in range, both ends included', async () => {
      const res = await timesheet('E3', '2026-05-31', '2026-06-02');
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.data.map((d: any) => [d.date, d.sessions, d.workedMinutes, d.status]),
        [
          ['2026-05-31', 0, 0, 'absent'],
          ['2026-06-01', 1, 480, 'present'],
          ['2026-06-02', 0, 0, 'absent'],
        ],
      );
      assert.deepEqual(Object.keys(res.body.data[0]), ['date', 'shiftId', 'firstIn', 'lastOut', 'workedMinutes', 'sessions', 'scheduledMinutes', 'lateMinutes', 'earlyExitMinutes', 'overtimeMinutes', 'status', 'flags']);
    });

    it('covers up to 366 days; more is 400 range_too_large', async () => {
      const year = await timesheet('E4', '2026-01-01', '2027-01-01');
      assert.equal(year.status, 200);
      assert.equal(year.body.data.length, 366);
      assert.deepEqual(year.body.data.filter((d: any) => d.sessions).map((d: any) => d.date), ['2026-03-28', '2026-10-24']);
      const tooLong = await timesheet('E4', '2026-01-01', '2027-01-02');
      assert.equal(tooLong.status, 400);
      assert.equal(tooLong.body.error.code, 'range_too_large');
    });

    it('an unknown employee is 404 employee_not_found', async () => {
      const res = await timesheet('ghost', '2026-06-01', '2026-06-01');
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'employee_not_found');
    });

    for (const [label, from, to] of [
      ['from after to', '2026-06-02', '2026-06-01'],
      ['not a date', '2026-06-01', 'tomorrow'],
      ['no such day', '2026-02-29', '2026-03-01'],
      ['year 0 (once a 500)', '0000-01-01', '0000-01-03'],
    ]) {
      it(`${label} is 400 validation_failed`, async () => {
        const res = await timesheet('E1', from!, to!);
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'validation_failed');
      });
    }
  });

  it('an unknown site is 404 site_not_found, for CSV too', async () => {
    for (const format of ['json', 'csv']) {
      const res = await api(t.hub, 'GET', `/api/v1/reports/daily?siteId=nowhere&date=2026-06-01&format=${format}`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'site_not_found');
    }
  });

  for (const [label, query] of [
    ['a missing date', 'siteId=S1'],
    ['a bad date', 'siteId=S1&date=2026-13-01'],
    ['a date in year 0 (once a 500)', 'siteId=S1&date=0000-01-01'],
    ['an unknown format', 'siteId=S1&date=2026-06-01&format=xml'],
    ['an unknown parameter', 'siteId=S1&date=2026-06-01&limit=5'],
  ]) {
    it(`the daily report with ${label} is 400 validation_failed`, async () => {
      const res = await api(t.hub, 'GET', `/api/v1/reports/daily?${query}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_failed');
    });
  }
});
