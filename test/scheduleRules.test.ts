import assert from 'node:assert/strict';
import { dayFigures, dayOfSession, occurrenceHolding, occurrenceOn, scheduleOf, type DayInput, type Shift } from '../server/services/schedule/rules.js';
import { instantOf } from '../server/services/schedule/wallClock.js';

/** Every expected figure below was worked out by hand from the zone's rules (offsets in the comments). */
const shift = (over: Partial<Shift> = {}): Shift => ({
  id: 'day',
  start: '09:00',
  end: '17:00',
  weekdays: [1, 2, 3, 4, 5],
  breakMinutes: 0,
  lateGraceMinutes: 5,
  earlyGraceMinutes: 5,
  checkInBeforeMinutes: 60,
  halfDayBelowMinutes: null,
  overtimeAfterMinutes: 0,
  ...over,
});
const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();
const one = (s: Shift, timeZone: string) => scheduleOf(timeZone, [{ shiftId: s.id, from: '2026-01-01', to: null }], new Map([[s.id, s]]));
const worked = (from: string, to: string | null) => ({
  in: at(from),
  out: to === null ? null : at(to),
  workedMinutes: to === null ? 0 : Math.round((Date.parse(to) - Date.parse(from)) / 60_000),
});
const day = (over: Partial<DayInput>): DayInput => ({ shift: null, run: null, holiday: false, onLeave: false, sessions: [], now: at('2027-01-01T00:00:00Z'), ...over });

describe('wall clock: local times to instants', () => {
  it('reads a plain wall time at the zone’s offset (New York in January: UTC−5)', () => {
    assert.equal(iso(instantOf('2026-01-15', '09:00', 'America/New_York')), '2026-01-15T14:00:00.000Z');
  });

  it('starts a wall time the clocks skip at the next valid instant (Berlin, 29 Mar 2026: 02:00 → 03:00)', () => {
    // 02:30 does not exist; the clocks jump at 01:00Z, which reads 03:00 CEST.
    assert.equal(iso(instantOf('2026-03-29', '02:30', 'Europe/Berlin')), '2026-03-29T01:00:00.000Z');
    assert.equal(iso(instantOf('2026-03-29', '03:00', 'Europe/Berlin')), '2026-03-29T01:00:00.000Z');
    assert.equal(iso(instantOf('2026-03-29', '01:59', 'Europe/Berlin')), '2026-03-29T00:59:00.000Z');
  });

  it('takes the first of a wall time the clocks show twice (Berlin, 25 Oct 2026: 03:00 → 02:00)', () => {
    // 02:30 CEST (UTC+2) is 00:30Z; 02:30 CET (UTC+1), an hour later, is not chosen.
    assert.equal(iso(instantOf('2026-10-25', '02:30', 'Europe/Berlin')), '2026-10-25T00:30:00.000Z');
  });

  it('handles a zone with a half-hour offset and one that skips midnight (Santiago, 6 Sep 2026: 00:00 → 01:00)', () => {
    assert.equal(iso(instantOf('2026-06-01', '09:00', 'Asia/Kolkata')), '2026-06-01T03:30:00.000Z');
    // Chile springs forward at local midnight: 00:00 does not exist; 01:00 −03 is 04:00Z.
    assert.equal(iso(instantOf('2026-09-06', '00:00', 'America/Santiago')), '2026-09-06T04:00:00.000Z');
  });
});

describe('shift runs and the day a session belongs to', () => {
  const night = shift({ id: 'night', start: '22:00', end: '06:00', weekdays: [1, 2, 3, 4, 5, 6, 7] });

  it('a night shift’s run ends the next morning', () => {
    const run = occurrenceOn(night, '2026-01-14', 'Europe/Berlin')!;
    // Berlin in January is UTC+1.
    assert.deepEqual([iso(run.opens), iso(run.start), iso(run.end)], ['2026-01-14T20:00:00.000Z', '2026-01-14T21:00:00.000Z', '2026-01-15T05:00:00.000Z']);
  });

  it('a check-in at 00:15 on a 22:00–06:00 shift counts for the run that started the evening before', () => {
    const schedule = one(night, 'Europe/Berlin');
    const checkIn = at('2026-01-14T23:15:00Z'); // 00:15 on the 15th in Berlin
    assert.equal(dayOfSession(checkIn, schedule), '2026-01-14');
    const run = occurrenceHolding(checkIn, schedule)!;
    const figures = dayFigures(day({ shift: night, run, sessions: [worked('2026-01-14T23:15:00Z', '2026-01-15T05:00:00Z')] }));
    assert.equal(figures.lateMinutes, 135); // 22:00 → 00:15
    assert.equal(figures.scheduledMinutes, 480);
    assert.equal(figures.workedMinutes, 345);
    assert.equal(figures.earlyExitMinutes, 0);
    assert.equal(figures.status, 'present');
  });

  it('a night shift across spring forward is seven hours long; across fall back, nine', () => {
    const spring = occurrenceOn(night, '2026-03-28', 'Europe/Berlin')!;
    assert.deepEqual([iso(spring.start), iso(spring.end)], ['2026-03-28T21:00:00.000Z', '2026-03-29T04:00:00.000Z']);
    assert.equal(dayFigures(day({ shift: night, run: spring })).scheduledMinutes, 420);
    const autumn = occurrenceOn(night, '2026-10-24', 'Europe/Berlin')!;
    assert.deepEqual([iso(autumn.start), iso(autumn.end)], ['2026-10-24T20:00:00.000Z', '2026-10-25T05:00:00.000Z']);
    const full = dayFigures(day({ shift: night, run: autumn, sessions: [worked('2026-10-24T20:00:00Z', '2026-10-25T05:00:00Z')] }));
    assert.deepEqual([full.scheduledMinutes, full.workedMinutes, full.overtimeMinutes], [540, 540, 0]);
  });

  it('a check-in before the window opens is an unscheduled session on its own local day', () => {
    const schedule = one(shift(), 'America/New_York');
    // 09:00 EST = 14:00Z; the window opens an hour before.
    assert.equal(occurrenceHolding(at('2026-01-15T12:59:00Z'), schedule), null);
    assert.equal(occurrenceHolding(at('2026-01-15T13:00:00Z'), schedule)?.date, '2026-01-15');
    assert.equal(occurrenceHolding(at('2026-01-15T22:00:00Z'), schedule), null); // 17:00: the run has ended
    // A Saturday: the shift does not run.
    assert.equal(occurrenceHolding(at('2026-01-17T14:00:00Z'), schedule), null);
  });

  it('where two windows hold a check-in, the run starting nearest to it', () => {
    const early = shift({ id: 'early', start: '06:00', end: '14:00', weekdays: [1, 2, 3, 4, 5, 6, 7] });
    const long = shift({ id: 'long', start: '18:00', end: '06:00', weekdays: [1, 2, 3, 4, 5, 6, 7] });
    const schedule = scheduleOf('UTC', [{ shiftId: 'long', from: '2026-01-01', to: '2026-01-14' }, { shiftId: 'early', from: '2026-01-15', to: null }], new Map([[early.id, early], [long.id, long]]));
    // 05:45 on the 15th: the night run of the 14th still holds it, and the early run of the 15th has opened.
    assert.equal(occurrenceHolding(at('2026-01-15T05:45:00Z'), schedule)?.shift.id, 'early');
  });

  it('an assignment changing mid-week: Tuesday on the old shift, Wednesday on the new', () => {
    const a = shift({ id: 'a' });
    const b = shift({ id: 'b', start: '14:00', end: '22:00' });
    const schedule = scheduleOf('UTC', [{ shiftId: 'a', from: '2026-01-05', to: '2026-01-06' }, { shiftId: 'b', from: '2026-01-07', to: null }], new Map([[a.id, a], [b.id, b]]));
    assert.equal(schedule.shiftOn('2026-01-06')?.id, 'a');
    assert.equal(schedule.shiftOn('2026-01-07')?.id, 'b');
    assert.equal(schedule.shiftOn('2026-01-04'), null);
    assert.equal(occurrenceHolding(at('2026-01-07T13:10:00Z'), schedule)?.shift.id, 'b');
  });
});

describe('a day’s figures', () => {
  const s = shift({ breakMinutes: 60, halfDayBelowMinutes: 240, overtimeAfterMinutes: 30 });
  const run = occurrenceOn(s, '2026-01-15', 'UTC')!;

  it('grace exactly met is not late; exceeded by a minute is late by all of it', () => {
    const onGrace = dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:05:59Z', '2026-01-15T17:00:00Z')] }));
    assert.equal(onGrace.lateMinutes, 0);
    const over = dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:06:00Z', '2026-01-15T17:00:00Z')] }));
    assert.equal(over.lateMinutes, 6);
  });

  it('leaving before the end beyond the grace is an early exit', () => {
    assert.equal(dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:00:00Z', '2026-01-15T16:55:00Z')] })).earlyExitMinutes, 0);
    assert.equal(dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:00:00Z', '2026-01-15T16:50:00Z')] })).earlyExitMinutes, 10);
  });

  it('overtime is worked minus scheduled when that exceeds the threshold', () => {
    // 08:55–18:30 is 575 minutes, less the 60-minute break not taken: 515; scheduled 480 − 60 = 420.
    const long = dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T08:55:00Z', '2026-01-15T18:30:00Z')] }));
    assert.deepEqual([long.scheduledMinutes, long.workedMinutes, long.overtimeMinutes], [420, 515, 95]);
    // 09:00–17:25: 505 − 60 = 445, 25 over: within the 30-minute threshold.
    assert.equal(dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:00:00Z', '2026-01-15T17:25:00Z')] })).overtimeMinutes, 0);
  });

  it('a break punched out and in is not taken off again', () => {
    const split = dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:00:00Z', '2026-01-15T12:00:00Z'), worked('2026-01-15T13:00:00Z', '2026-01-15T17:00:00Z')] }));
    assert.deepEqual([split.workedMinutes, split.overtimeMinutes, split.status], [420, 0, 'present']);
  });

  it('a half day: worked below the threshold', () => {
    const half = dayFigures(day({ shift: s, run, sessions: [worked('2026-01-15T09:00:00Z', '2026-01-15T13:00:00Z')] }));
    // 240 worked, less the break: 180 < 240.
    assert.deepEqual([half.workedMinutes, half.earlyExitMinutes, half.status], [180, 240, 'half_day']);
  });

  it('a holiday, leave, a day off, a shift still ahead, and an absence', () => {
    assert.deepEqual(dayFigures(day({ shift: s, run, holiday: true })), { scheduledMinutes: 0, workedMinutes: 0, lateMinutes: 0, earlyExitMinutes: 0, overtimeMinutes: 0, status: 'holiday' });
    assert.equal(dayFigures(day({ shift: s, run, onLeave: true })).status, 'on_leave');
    assert.equal(dayFigures(day({ shift: s, run: null })).status, 'off');
    assert.equal(dayFigures(day({ shift: s, run, now: at('2026-01-15T16:59:00Z') })).status, 'expected');
    assert.equal(dayFigures(day({ shift: s, run, now: at('2026-01-15T17:00:00Z') })).status, 'absent');
    // Without a shift, today's rule: no session is absent, unless on leave or a holiday.
    assert.equal(dayFigures(day({})).status, 'absent');
    assert.equal(dayFigures(day({ onLeave: true })).status, 'on_leave');
  });

  it('working on a holiday is all overtime past the threshold', () => {
    const worked8 = dayFigures(day({ shift: s, run, holiday: true, sessions: [worked('2026-01-15T09:00:00Z', '2026-01-15T17:00:00Z')] }));
    assert.deepEqual([worked8.scheduledMinutes, worked8.workedMinutes, worked8.lateMinutes, worked8.overtimeMinutes, worked8.status], [0, 480, 0, 480, 'present']);
  });
});

describe('the README’s worked example', () => {
  const night = shift({ id: 'night', start: '22:00', end: '06:00', weekdays: [1, 2, 3, 4, 5, 6, 7], breakMinutes: 30, overtimeAfterMinutes: 15 });
  const berlin = one(night, 'Europe/Berlin');

  it('Anna, Monday 22:12 to Tuesday 06:40 on Night 22:00–06:00: Monday’s run, 12 late, 478 worked, 28 overtime', () => {
    // Monday 1 June 2026, CEST (UTC+2).
    const checkIn = at('2026-06-01T22:12:00+02:00');
    assert.equal(dayOfSession(checkIn, berlin), '2026-06-01');
    const run = occurrenceHolding(checkIn, berlin)!;
    assert.equal(iso(run.opens), '2026-06-01T19:00:00.000Z');
    const figures = dayFigures(day({ shift: night, run, sessions: [worked('2026-06-01T22:12:00+02:00', '2026-06-02T06:40:00+02:00')] }));
    assert.deepEqual(figures, { scheduledMinutes: 450, workedMinutes: 478, lateMinutes: 12, earlyExitMinutes: 0, overtimeMinutes: 28, status: 'present' });
  });

  it('checking in Tuesday 00:15 instead is still Monday’s run, 135 minutes late', () => {
    const checkIn = at('2026-06-02T00:15:00+02:00');
    const run = occurrenceHolding(checkIn, berlin)!;
    assert.equal(run.date, '2026-06-01');
    assert.equal(dayFigures(day({ shift: night, run, sessions: [worked('2026-06-02T00:15:00+02:00', '2026-06-02T06:00:00+02:00')] })).lateMinutes, 135);
  });

  it('the night the clocks go back (24–25 October 2026) is nine hours: 510 scheduled', () => {
    const run = occurrenceOn(night, '2026-10-24', 'Europe/Berlin')!;
    assert.equal(dayFigures(day({ shift: night, run })).scheduledMinutes, 510);
  });
});
