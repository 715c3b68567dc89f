import assert from 'node:assert/strict';
import { insertPunch, judgePunch, takeOutMisfits, type TimelinePunch } from '../server/services/checkinRules.js';

const H = 3600_000;
const L = 16 * H;

describe('check-in rules', () => {
  // Verdicts compared on ok/type (or code); an out also names the check-in it closes.
  const judge = (timeline: TimelinePunch[], type: 'in' | 'out' | 'toggle', at: number) => {
    const v = judgePunch(timeline, { type, at }, L);
    return v.ok ? { ok: true as const, type: v.type } : v;
  };

  it('in when out, out when in', () => {
    assert.deepEqual(judge([], 'in', 0), { ok: true, type: 'in' });
    assert.deepEqual(judge([{ type: 'in', at: 0 }], 'out', 8 * H), { ok: true, type: 'out' });
  });

  it('in while in is already_checked_in; out while out is not_checked_in', () => {
    const v1 = judge([{ type: 'in', at: 0 }], 'in', H);
    assert.equal(!v1.ok && v1.code, 'already_checked_in');
    const v2 = judge([], 'out', H);
    assert.equal(!v2.ok && v2.code, 'not_checked_in');
    const v3 = judge([{ type: 'in', at: 0 }, { type: 'out', at: H }], 'out', 2 * H);
    assert.equal(!v3.ok && v3.code, 'not_checked_in');
  });

  it('toggle decides from the state at that moment', () => {
    assert.deepEqual(judge([], 'toggle', 0), { ok: true, type: 'in' });
    assert.deepEqual(judge([{ type: 'in', at: 0 }], 'toggle', H), { ok: true, type: 'out' });
    assert.deepEqual(judge([{ type: 'in', at: 0 }, { type: 'out', at: H }], 'toggle', 2 * H), { ok: true, type: 'in' });
  });

  it('an in left open past the longest shift no longer blocks a new in, nor allows an out', () => {
    assert.deepEqual(judge([{ type: 'in', at: 0 }], 'in', L + 1), { ok: true, type: 'in' });
    const v = judge([{ type: 'in', at: 0 }], 'out', L + 1);
    assert.equal(!v.ok && v.code, 'not_checked_in');
    assert.deepEqual(judge([{ type: 'in', at: 0 }], 'out', L), { ok: true, type: 'out' });
  });

  /** A group placed as the commit does: each punch judged in time order, then stored punches it broke take it out. */
  const place = (stored: TimelinePunch[], punches: Array<{ type: 'in' | 'out' | 'toggle'; at: number }>) => {
    type P = TimelinePunch & { added?: true };
    const timeline: P[] = stored.map((p) => ({ ...p }));
    const verdicts = new Map<number, string>();
    for (const p of [...punches].sort((a, b) => a.at - b.at)) {
      const v = judgePunch(timeline, p, L);
      verdicts.set(p.at, v.ok ? v.type : v.code);
      if (v.ok) insertPunch(timeline, { type: v.type, at: p.at, added: true });
    }
    for (const m of takeOutMisfits(timeline, (t) => t.added === true, L)) verdicts.set(m.punch.at, m.code);
    return { verdicts: punches.map((p) => verdicts.get(p.at)), timeline: timeline.map((p) => `${p.type}@${p.at / H}`) };
  };

  it('an offline punch fits where it happened, judged against its neighbours in time', () => {
    const day: TimelinePunch[] = [
      { type: 'in', at: 10 * H },
      { type: 'out', at: 18 * H },
    ];
    // A shift the day before, synced late: fine.
    assert.deepEqual(place(day, [{ type: 'in', at: -14 * H }, { type: 'out', at: -6 * H }]).verdicts, ['in', 'out']);
    // An out in the middle of the stored session: the stored out would then follow an out.
    assert.deepEqual(place(day, [{ type: 'out', at: 12 * H }]).verdicts, ['out_of_sequence']);
    // An in just before a stored in would leave it "in while in".
    assert.deepEqual(place(day, [{ type: 'in', at: 9 * H }]).verdicts, ['out_of_sequence']);
  });

  it('a whole earlier session synced before a stored one fits, though its in alone would not', () => {
    const day: TimelinePunch[] = [
      { type: 'in', at: 8 * H },
      { type: 'out', at: 17 * H },
    ];
    const early = place(day, [{ type: 'out', at: 6 * H }, { type: 'in', at: 5 * H }]);
    assert.deepEqual(early.verdicts, ['out', 'in']);
    assert.deepEqual(early.timeline, ['in@5', 'out@6', 'in@8', 'out@17']);
    // A break inside the stored session: out then in again before the stored out.
    assert.deepEqual(place(day, [{ type: 'out', at: 12 * H }, { type: 'in', at: 13 * H }]).verdicts, ['out', 'in']);
    // Only the group's punch that leaves the stored one invalid is taken out.
    const third = place(day, [{ type: 'in', at: 5 * H }, { type: 'out', at: 6 * H }, { type: 'in', at: 7 * H }]);
    assert.deepEqual(third.verdicts, ['in', 'out', 'out_of_sequence']);
    assert.deepEqual(third.timeline, ['in@5', 'out@6', 'in@8', 'out@17']);
  });

  it('an out names the check-in it closes, so it can take that site', () => {
    const opened = { type: 'in' as const, at: 0, siteId: 'S9' };
    const v = judgePunch([opened], { type: 'out', at: H }, L);
    assert.ok(v.ok && v.opened === opened);
  });

  it('insertPunch keeps time order', () => {
    const t: TimelinePunch[] = [];
    for (const at of [5, 1, 3, 3, 9]) insertPunch(t, { type: 'in', at });
    assert.deepEqual(t.map((p) => p.at), [1, 3, 3, 5, 9]);
  });
});
