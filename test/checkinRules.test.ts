import assert from 'node:assert/strict';
import { insertPunch, judgePunch, type TimelinePunch } from '../server/services/checkinRules.js';

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

  it('an offline punch fits where it happened, judged against its neighbours in time', () => {
    const timeline: TimelinePunch[] = [
      { type: 'in', at: 10 * H },
      { type: 'out', at: 18 * H },
    ];
    // A shift the day before, synced late: fine.
    assert.deepEqual(judge(timeline, 'in', -14 * H), { ok: true, type: 'in' });
    // An out in the middle of the stored session: the stored out would then follow an out.
    const mid = judge(timeline, 'out', 12 * H);
    assert.equal(!mid.ok && mid.code, 'out_of_sequence');
    // An in just before a stored in would leave it "in while in".
    const before = judge(timeline, 'in', 9 * H);
    assert.equal(!before.ok && before.code, 'out_of_sequence');
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
