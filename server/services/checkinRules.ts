/**
 * Check-in rules, judged on an employee's punches in time order (not arrival order), so offline
 * punches that arrive late fit where they happened. The timeline must alternate in → out → in…;
 * an `in` left open longer than the longest shift no longer counts as open (a forgotten check-out).
 */
export type TimelinePunch = { type: 'in' | 'out'; at: number; siteId?: string | null };

/** On success, `opened` is the check-in an `out` closes (its site is where the session ran). */
export type RuleVerdict = { ok: true; type: 'in' | 'out'; opened?: TimelinePunch } | { ok: false; code: RuleCode; message: string };

export type RuleCode = 'already_checked_in' | 'not_checked_in' | 'out_of_sequence';

const isOpenAt = (prev: TimelinePunch | undefined, at: number, longestShiftMs: number) =>
  prev !== undefined && prev.type === 'in' && at - prev.at <= longestShiftMs;

/** Would `next` still be valid with `p` right before it? */
function keepsNextValid(p: TimelinePunch, next: TimelinePunch | undefined, longestShiftMs: number): boolean {
  if (!next) return true;
  const open = isOpenAt(p, next.at, longestShiftMs);
  return next.type === 'in' ? !open : open;
}

/**
 * Judge one punch against the timeline (sorted by `at`). `toggle` becomes `out` when the employee
 * is in at that moment, else `in`.
 */
export function judgePunch(
  timeline: readonly TimelinePunch[],
  punch: { type: 'in' | 'out' | 'toggle'; at: number },
  longestShiftMs: number,
): RuleVerdict {
  const i = upperBound(timeline, punch.at);
  const prev = timeline[i - 1];
  const next = timeline[i];
  const open = isOpenAt(prev, punch.at, longestShiftMs);
  const type = punch.type === 'toggle' ? (open ? 'out' : 'in') : punch.type;
  if (type === 'in' && open) return { ok: false, code: 'already_checked_in', message: 'the employee is already checked in' };
  if (type === 'out' && !open) return { ok: false, code: 'not_checked_in', message: 'the employee is not checked in' };
  if (!keepsNextValid({ type, at: punch.at }, next, longestShiftMs)) {
    return { ok: false, code: 'out_of_sequence', message: `a later ${next!.type} punch conflicts with this one` };
  }
  return type === 'out' ? { ok: true, type, opened: prev } : { ok: true, type };
}

/** Insert keeping the timeline sorted by `at` (after equal times). */
export function insertPunch(timeline: TimelinePunch[], punch: TimelinePunch): void {
  timeline.splice(upperBound(timeline, punch.at), 0, punch);
}

/** Index of the first punch later than `at`. */
function upperBound(timeline: readonly TimelinePunch[], at: number): number {
  let lo = 0;
  let hi = timeline.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timeline[mid]!.at <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
