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

  it('a night shift belongs to the day it started, in the site zone', () => {
    const { sessions } = sessionsOf([punch('in', '2026-06-01T22:00:00+02:00'), punch('out', '2026-06-02T06:00:00+02:00')], opts);
    assert.equal(sessions[0]!.day, '2026-06-01');
    assert.equal(sessions[0]!.workedMinutes, 480);
    // The same instants seen from UTC start on the 1st at 20:00; from Tokyo, on the 2nd at 05:00.
    assert.equal(sessionsOf([punch('in', '2026-06-01T22:00:00+02:00')], { ...opts, timeZone: 'Asia/Tokyo' }).sessions[0]!.day, '2026-06-02');
  });

  it('counts real hours across DST changes', () => {
    const autumn = sessionsOf([punch('in', '2026-10-24T22:00:00+02:00'), punch('out', '2026-10-25T06:00:00+01:00')], opts).sessions[0]!;
    assert.deepEqual([autumn.day, autumn.workedMinutes], ['2026-10-24', 540]);
    const spring = sessionsOf([punch('in', '2026-03-28T22:00:00+01:00'), punch('out', '2026-03-29T06:00:00+02:00')], opts).sessions[0]!;
    assert.deepEqual([spring.day, spring.workedMinutes], ['2026-03-28', 420]);
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

  it('calendar helpers', () => {
    assert.equal(localDate(new Date('2026-10-24T22:30:00Z'), 'Europe/Berlin'), '2026-10-25');
    assert.deepEqual(datesBetween('2028-02-27', '2028-03-01'), ['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01']);
    assert.equal(dayCount('2026-01-01', '2026-12-31'), 365);
    assert.equal(dayCount('2026-03-01', '2026-03-31'), 31);
  });
});
