import assert from 'node:assert/strict';
import { datesBetween, dayCount, localDate, rollup, sessionsOf, type Punch } from '../server/services/attendanceDays.js';

const HOUR = 3_600_000;
const opts = { timeZone: 'Europe/Berlin', longestShiftMs: 16 * HOUR, now: new Date('2026-11-27T12:00:00Z') };
const punch = (type: 'in' | 'out', at: string, timeZone?: string): Punch => ({ type, at: new Date(at), ...(timeZone ? { timeZone } : {}) });
const days = (punches: Punch[], dates: string[], o = opts) => rollup(sessionsOf(punches, o), dates);

describe('attendanceDays', () => {
  it('pairs each in with the next out and sums the day', () => {
    const [day] = days(
      [punch('in', '2026-06-01T08:00:00+02:00'), punch('out', '2026-06-01T12:00:00+02:00'), punch('in', '2026-06-01T13:00:00+02:00'), punch('out', '2026-06-01T17:30:00+02:00')],
      ['2026-06-01'],
    );
    assert.deepEqual(day, {
      date: '2026-06-01',
      firstIn: new Date('2026-06-01T06:00:00Z'),
      lastOut: new Date('2026-06-01T15:30:00Z'),
      workedMinutes: 510,
      sessions: 2,
      flags: [],
    });
  });

  // Hand-computed: Berlin is UTC+1 (CET) and UTC+2 (CEST, 2026-03-29 01:00Z to 2026-10-25 01:00Z); New York is
  // UTC−5 and UTC−4 (2026-03-08 07:00Z to 2026-11-01 06:00Z); Kolkata UTC+5:30, Kiritimati UTC+14, Pago Pago UTC−11.
  describe('which day an instant belongs to, in a zone', () => {
    for (const [at, timeZone, date] of [
      ['2026-06-01T21:59:59Z', 'Europe/Berlin', '2026-06-01'],
      ['2026-06-01T22:00:00Z', 'Europe/Berlin', '2026-06-02'],
      ['2026-01-15T22:59:59Z', 'Europe/Berlin', '2026-01-15'],
      ['2026-01-15T23:00:00Z', 'Europe/Berlin', '2026-01-16'],
      ['2026-06-02T03:59:59Z', 'America/New_York', '2026-06-01'],
      ['2026-06-02T04:00:00Z', 'America/New_York', '2026-06-02'],
      ['2026-06-01T18:29:59Z', 'Asia/Kolkata', '2026-06-01'],
      ['2026-06-01T18:30:00Z', 'Asia/Kolkata', '2026-06-02'],
      ['2026-06-01T09:59:59Z', 'Pacific/Kiritimati', '2026-06-01'],
      ['2026-06-01T10:00:00Z', 'Pacific/Kiritimati', '2026-06-02'],
      ['2026-06-02T10:59:59Z', 'Pacific/Pago_Pago', '2026-06-01'],
      ['2026-06-02T11:00:00Z', 'Pacific/Pago_Pago', '2026-06-02'],
      // Berlin's 23-hour day: from 2026-03-28 23:00Z to 2026-03-29 22:00Z.
      ['2026-03-28T22:59:59Z', 'Europe/Berlin', '2026-03-28'],
      ['2026-03-28T23:00:00Z', 'Europe/Berlin', '2026-03-29'],
      ['2026-03-29T21:59:59Z', 'Europe/Berlin', '2026-03-29'],
      ['2026-03-29T22:00:00Z', 'Europe/Berlin', '2026-03-30'],
      // Berlin's 25-hour day: from 2026-10-24 22:00Z to 2026-10-25 23:00Z; 02:30 happens twice.
      ['2026-10-24T21:59:59Z', 'Europe/Berlin', '2026-10-24'],
      ['2026-10-24T22:00:00Z', 'Europe/Berlin', '2026-10-25'],
      ['2026-10-25T00:30:00Z', 'Europe/Berlin', '2026-10-25'],
      ['2026-10-25T01:30:00Z', 'Europe/Berlin', '2026-10-25'],
      ['2026-10-25T22:59:59Z', 'Europe/Berlin', '2026-10-25'],
      ['2026-10-25T23:00:00Z', 'Europe/Berlin', '2026-10-26'],
    ] as const) {
      it(`${at} is ${date} in ${timeZone}`, () => {
        assert.equal(localDate(new Date(at), timeZone), date);
        assert.equal(sessionsOf([punch('in', at)], { ...opts, timeZone }).sessions[0]!.day, date, 'a session is on the day of its in');
      });
    }
  });

  describe('a whole day worked, midnight to midnight, is as long as the day really is', () => {
    const twoDays = { ...opts, longestShiftMs: 48 * HOUR };
    for (const [timeZone, from, to, minutes] of [
      ['Europe/Berlin', '2026-06-01T00:00:00+02:00', '2026-06-02T00:00:00+02:00', 24 * 60],
      ['Europe/Berlin', '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', 23 * 60],
      ['Europe/Berlin', '2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', 25 * 60],
      ['America/New_York', '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00', 23 * 60],
      ['America/New_York', '2026-11-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00', 25 * 60],
    ] as const) {
      const date = from.slice(0, 10);
      it(`${date} in ${timeZone}: ${minutes / 60} hours`, () => {
        const [day, next] = days([punch('in', from), punch('out', to)], [date, to.slice(0, 10)], { ...twoDays, timeZone });
        assert.deepEqual([day!.date, day!.sessions, day!.workedMinutes, day!.firstIn, day!.lastOut], [date, 1, minutes, new Date(from), new Date(to)]);
        assert.equal(next!.sessions, 0, 'the next day, where it ended, has no session');
      });
    }
  });

  describe('a night shift counts on the day it started, for the hours really worked', () => {
    for (const [label, timeZone, from, to, minutes] of [
      ['across midnight', 'Europe/Berlin', '2026-06-01T22:00:00+02:00', '2026-06-02T06:00:00+02:00', 480],
      ['the night Berlin falls back (03:00 → 02:00)', 'Europe/Berlin', '2026-10-24T22:00:00+02:00', '2026-10-25T06:00:00+01:00', 540],
      ['the night Berlin springs forward (02:00 → 03:00)', 'Europe/Berlin', '2026-03-28T22:00:00+01:00', '2026-03-29T06:00:00+02:00', 420],
      ['the night New York springs forward', 'America/New_York', '2026-03-07T22:00:00-05:00', '2026-03-08T06:00:00-04:00', 420],
      ['the night New York falls back', 'America/New_York', '2026-10-31T22:00:00-04:00', '2026-11-01T06:00:00-05:00', 540],
      ['02:30 summer time to 02:30 winter time, the same wall clock', 'Europe/Berlin', '2026-10-25T02:30:00+02:00', '2026-10-25T02:30:00+01:00', 60],
      ['01:30 to 03:30 over the hour that does not exist', 'Europe/Berlin', '2026-03-29T01:30:00+01:00', '2026-03-29T03:30:00+02:00', 60],
    ] as const) {
      it(label, () => {
        const date = from.slice(0, 10);
        const next = new Date(Date.parse(`${date}T00:00:00Z`) + 24 * HOUR).toISOString().slice(0, 10);
        const result = days([punch('in', from), punch('out', to)], [date, next], { ...opts, timeZone });
        assert.deepEqual(
          result.map((d) => [d.date, d.sessions, d.workedMinutes]),
          [
            [date, 1, minutes],
            [next, 0, 0],
          ],
        );
      });
    }

    it('the zone decides where the night began: the same instants start on the 1st in UTC, on the 2nd in Tokyo', () => {
      const night = [punch('in', '2026-06-01T22:00:00+02:00'), punch('out', '2026-06-02T06:00:00+02:00')];
      assert.equal(sessionsOf(night, { ...opts, timeZone: 'UTC' }).sessions[0]!.day, '2026-06-01');
      assert.equal(sessionsOf(night, { ...opts, timeZone: 'Asia/Tokyo' }).sessions[0]!.day, '2026-06-02');
    });
  });

  it('an in never closed within the longest shift is missing_checkout and not counted', () => {
    const punches = [punch('in', '2026-06-01T08:00:00Z'), punch('out', '2026-06-02T01:00:00Z')];
    const result = sessionsOf(punches, opts);
    assert.deepEqual(result.sessions, [{ in: punches[0]!.at, out: null, day: '2026-06-01', siteId: null, workedMinutes: 0, flags: ['missing_checkout'] }]);
    assert.deepEqual(result.unmatchedOuts, [{ at: punches[1]!.at, day: '2026-06-02', siteId: null }]);
    assert.deepEqual(rollup(result, ['2026-06-01', '2026-06-02']).map((d) => [d.sessions, d.workedMinutes, d.flags]), [
      [1, 0, ['missing_checkout']],
      [0, 0, ['unmatched_checkout']],
    ]);
  });

  it('an out exactly one longest shift later still closes the session', () => {
    const { sessions } = sessionsOf([punch('in', '2026-06-01T06:00:00Z'), punch('out', '2026-06-01T22:00:00Z')], opts);
    assert.equal(sessions[0]!.workedMinutes, 960);
  });

  it('an in followed by another in leaves the first missing its checkout', () => {
    const [day] = days([punch('in', '2026-06-01T08:00:00Z'), punch('in', '2026-06-01T09:00:00Z'), punch('out', '2026-06-01T10:00:00Z')], ['2026-06-01']);
    assert.deepEqual([day!.sessions, day!.workedMinutes, day!.flags], [2, 60, ['missing_checkout']]);
  });

  it('a shift still under way is open, not missing', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const [day] = days([punch('in', '2026-06-01T08:00:00Z')], ['2026-06-01'], { ...opts, now });
    assert.deepEqual([day!.sessions, day!.workedMinutes, day!.flags, day!.lastOut], [1, 0, ['open'], null]);
  });

  it("a punch's own zone decides its day", () => {
    const { sessions } = sessionsOf([punch('in', '2026-06-01T23:30:00Z', 'America/New_York'), punch('out', '2026-06-02T03:30:00Z')], opts);
    assert.equal(sessions[0]!.day, '2026-06-01', 'Berlin would say the 2nd');
  });

  it('gives every date asked for, empty ones included, and drops other days', () => {
    const result = days([punch('in', '2026-05-31T08:00:00Z'), punch('out', '2026-05-31T09:00:00Z')], ['2026-06-01', '2026-06-02']);
    assert.deepEqual(result.map((d) => [d.date, d.sessions, d.firstIn]), [
      ['2026-06-01', 0, null],
      ['2026-06-02', 0, null],
    ]);
  });

  it('calendar helpers count dates, not hours: DST changes and leap days are one date each', () => {
    assert.deepEqual(datesBetween('2028-02-27', '2028-03-01'), ['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01']);
    assert.deepEqual(datesBetween('2026-10-24', '2026-10-26'), ['2026-10-24', '2026-10-25', '2026-10-26']);
    assert.deepEqual(datesBetween('2026-03-28', '2026-03-30'), ['2026-03-28', '2026-03-29', '2026-03-30']);
    assert.equal(dayCount('2026-01-01', '2026-12-31'), 365);
    assert.equal(dayCount('2028-01-01', '2028-12-31'), 366);
    assert.equal(dayCount('2026-01-01', '2027-01-01'), 366);
    assert.equal(dayCount('2026-03-01', '2026-03-31'), 31);
    assert.equal(datesBetween('2026-01-01', '2027-01-01').length, 366);
  });
});
