import assert from 'node:assert/strict';
import { horizonOf, nextChange, notArrived, runsGoing } from '../server/services/schedule/expected.js';
import type { Plans } from '../server/services/schedule/plans.js';
import { scheduleOf, type Shift } from '../server/services/schedule/rules.js';

/** The rules alone, against hand-worked instants: Berlin is UTC+2 in June, UTC+1 in January. */
const shift = (over: Partial<Shift> & { id: string }): Shift => ({
  start: '09:00',
  end: '17:00',
  weekdays: [1, 2, 3, 4, 5, 6, 7],
  breakMinutes: 0,
  lateGraceMinutes: 0,
  earlyGraceMinutes: 0,
  checkInBeforeMinutes: 60,
  halfDayBelowMinutes: null,
  overtimeAfterMinutes: 0,
  ...over,
});
const ZONE = 'Europe/Berlin';
const day = shift({ id: 'day' });
const night = shift({ id: 'night', start: '22:00', end: '06:00' });
const long = shift({ id: 'long', start: '20:00', end: '19:00' });

/** Plans for people with one shift each from 2025-01-01; `off` holds 'employee/date' and 'site/date' pairs. */
function plans(shifts: Record<string, Shift>, off: string[] = []): Plans {
  const byId = new Map(Object.values(shifts).map((s) => [s.id, s]));
  return {
    scheduleOf: (e) => (shifts[e.id] ? scheduleOf(e.timeZone, [{ shiftId: shifts[e.id]!.id, from: '2025-01-01', to: null }], byId) : null),
    holiday: (siteId, date) => off.includes(`${siteId}/${date}`),
    onLeave: (id, date) => off.includes(`${id}/${date}`),
    shiftName: (id) => id.toUpperCase(),
  };
}
const person = (id: string) => ({ id, name: id, siteId: 'S', timeZone: ZONE });
const at = (iso: string) => new Date(iso);

describe('expected and not in: the rules', () => {
  it('the horizon is the local day before, the day, the day after, until the day after next begins (in the zone, across DST)', () => {
    // 00:30 on 30 March 2025 in Berlin is 29 March 23:30Z: the local date is already the 30th.
    const h = horizonOf(at('2025-03-29T23:30:00Z'), ZONE);
    assert.deepEqual(h.dates, ['2025-03-29', '2025-03-30', '2025-03-31']);
    // 1 April 00:00 CEST (UTC+2; the clocks went forward at 02:00 on the 30th).
    assert.equal(h.until.toISOString(), '2025-03-31T22:00:00.000Z');
  });

  it('a run is going from its start (included) to its end (left out); a night run that began yesterday is going after midnight', () => {
    const p = plans({ D: day, N: night });
    const going = (now: string) => runsGoing([person('D'), person('N')], p, horizonOf(at(now), ZONE), at(now)).going.map((g) => [g.employee.id, g.run.date]);
    assert.deepEqual(going('2025-06-02T06:59:59Z'), []);
    assert.deepEqual(going('2025-06-02T07:00:00Z'), [['D', '2025-06-02']]);
    assert.deepEqual(going('2025-06-02T14:59:59Z'), [['D', '2025-06-02']]);
    assert.deepEqual(going('2025-06-02T15:00:00Z'), []);
    // 01:30 Tuesday in Berlin: Monday's night run, 20:00Z to 04:00Z.
    assert.deepEqual(going('2025-06-02T23:30:00Z'), [['N', '2025-06-02']]);
  });

  it('of two overlapping runs the later-starting one is going; a holiday or leave on a run’s date takes that run out', () => {
    // X works a 23-hour run on Sunday (20:00 to 19:00 Monday), and the day shift from Monday.
    const assigned = plans({ X: long });
    const both: Plans = {
      ...assigned,
      scheduleOf: (e) =>
        scheduleOf(e.timeZone, [{ shiftId: 'long', from: '2025-06-01', to: '2025-06-01' }, { shiftId: 'day', from: '2025-06-02', to: null }], new Map([['long', long], ['day', day]])),
    };
    // Monday 10:00 in Berlin: Sunday's run (18:00Z to 17:00Z) and Monday's (07:00Z to 15:00Z) both hold it.
    const now = at('2025-06-02T08:00:00Z');
    const h = horizonOf(now, ZONE);
    const going = (p: Plans) => runsGoing([person('X')], p, h, now).going.map((g) => [g.run.date, g.shiftName]);
    assert.deepEqual(going(both), [['2025-06-02', 'DAY']]);
    assert.deepEqual(going({ ...both, onLeave: (_, date) => date === '2025-06-02' }), [['2025-06-01', 'LONG']]);
    assert.deepEqual(going({ ...both, holiday: () => true }), []);
  });

  it('the next start is of a run to be worked: one on a holiday or leave is skipped', () => {
    const now = at('2025-06-02T05:00:00Z');
    const h = horizonOf(now, ZONE);
    assert.equal(runsGoing([person('D')], plans({ D: day }), h, now).nextStart?.toISOString(), '2025-06-02T07:00:00.000Z');
    assert.equal(runsGoing([person('D')], plans({ D: day }, ['D/2025-06-02']), h, now).nextStart?.toISOString(), '2025-06-03T07:00:00.000Z');
    assert.equal(runsGoing([person('U')], plans({}), h, now).nextStart, null);
  });

  it('arrived means checked in at or after the window opened; someone still in from before it is not expected', () => {
    const now = at('2025-06-02T07:30:00Z');
    const { going } = runsGoing([person('A'), person('B'), person('C'), person('P')], plans({ A: day, B: day, C: day, P: day }), horizonOf(now, ZONE), now);
    const arrived = new Map([
      ['A', at('2025-06-02T05:59:59Z')],
      ['B', at('2025-06-02T06:00:00Z')],
    ]);
    const entries = notArrived(going, arrived, new Set(['P']), now);
    assert.deepEqual(entries.map((e) => [e.employeeId, e.lateMinutes, e.opens]), [
      ['A', 30, '2025-06-02T06:00:00.000Z'],
      ['C', 30, '2025-06-02T06:00:00.000Z'],
    ]);
  });

  it('most late first, then by name', () => {
    const now = at('2025-06-02T23:00:00Z');
    const { going } = runsGoing([person('Zed'), person('Amy'), person('Bo')], plans({ Zed: long, Amy: night, Bo: night }), horizonOf(now, ZONE), now);
    assert.deepEqual(notArrived(going, new Map(), new Set(), now).map((e) => [e.name, e.lateMinutes]), [
      ['Zed', 300],
      ['Amy', 180],
      ['Bo', 180],
    ]);
  });

  it('the next change is the earliest of the next start and a listed run’s end, and never past the horizon', () => {
    const h = horizonOf(at('2025-06-02T07:30:00Z'), ZONE);
    const run = { employeeId: 'A', name: 'A', shiftId: 'day', shiftName: 'DAY', opens: '2025-06-02T06:00:00.000Z', start: '2025-06-02T07:00:00.000Z', lateMinutes: 30 };
    const listed = [{ ...run, end: '2025-06-02T15:00:00.000Z' }, { ...run, end: '2025-06-02T13:00:00.000Z' }];
    assert.equal(nextChange(at('2025-06-02T12:00:00Z'), listed, h).toISOString(), '2025-06-02T12:00:00.000Z');
    assert.equal(nextChange(at('2025-06-02T14:00:00Z'), listed, h).toISOString(), '2025-06-02T13:00:00.000Z');
    assert.equal(nextChange(null, [], h).toISOString(), '2025-06-03T22:00:00.000Z');
  });
});
