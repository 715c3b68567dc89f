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

/**
 * Judge one punch against the punch before it in time (timeline sorted by `at`). `toggle` becomes
 * `out` when the employee is in at that moment, else `in`. Whether the stored punch after it still
 * fits is asked apart (`takeOutMisfits`), once a whole group is placed: a later punch of the same group
 * may be what makes it fit (an offline in and out synced before a stored in).
 */
export function judgePunch(
  timeline: readonly TimelinePunch[],
  punch: { type: 'in' | 'out' | 'toggle'; at: number },
  longestShiftMs: number,
): RuleVerdict {
  const prev = timeline[upperBound(timeline, punch.at) - 1];
  const open = isOpenAt(prev, punch.at, longestShiftMs);
  const type = punch.type === 'toggle' ? (open ? 'out' : 'in') : punch.type;
  if (type === 'in' && open) return { ok: false, code: 'already_checked_in', message: 'the employee is already checked in' };
  if (type === 'out' && !open) return { ok: false, code: 'not_checked_in', message: 'the employee is not checked in' };
  return type === 'out' ? { ok: true, type, opened: prev } : { ok: true, type };
}

const fitsAfter = (prev: TimelinePunch | undefined, punch: TimelinePunch, longestShiftMs: number) =>
  punch.type === 'in' ? !isOpenAt(prev, punch.at, longestShiftMs) : isOpenAt(prev, punch.at, longestShiftMs);

/**
 * Once a group's punches are placed, every stored punch must still fit after the punch before it.
 * Where one does not, the new punch right before it is taken out again (being the group's last before
 * that stored punch, no other punch of the group was judged on it), until the stored one fits.
 * Answers each punch taken out, with why (naming the stored punch it conflicted with).
 */
export function takeOutMisfits<P extends TimelinePunch>(timeline: P[], isNew: (p: P) => boolean, longestShiftMs: number) {
  const misfits: Array<{ punch: P; code: 'out_of_sequence'; message: string }> = [];
  for (let k = 1; k < timeline.length; k++) {
    const stored = timeline[k]!;
    if (isNew(stored)) continue;
    while (k > 0 && isNew(timeline[k - 1]!) && !fitsAfter(timeline[k - 1], stored, longestShiftMs)) {
      const [punch] = timeline.splice(--k, 1);
      misfits.push({ punch: punch!, code: 'out_of_sequence', message: `a later ${stored.type} punch conflicts with this one` });
    }
  }
  return misfits;
}

/** Insert keeping the timeline sorted by `at` (after equal times). */
export function insertPunch<P extends TimelinePunch>(timeline: P[], punch: P): void {
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
