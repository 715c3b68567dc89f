import type { Checkin, CheckinVoided, LegacyRecord, LegacyRecordInput, Location, PresenceChange } from '../../../shared/schemas.js';
import { reaches, type Who } from '../../auth/actor.js';
import { AppError, NotFoundError } from '../../errors.js';
import type { StoredEvent } from '../../events/event.js';
import { ForbiddenError } from '../../policies/index.js';
import type { AuditRecord } from '../../repositories/audit.js';
import type { GroupState, GroupWrite, RecordWrite, VoidWrite } from '../../repositories/ledger.js';
import { judgeFence } from './geofence.js';

/**
 * The check-in rules, and what a commit group writes: pure (no database, no clock), so every rule is
 * tested on its own (test/judge.test.ts). Punches are judged on each employee's timeline in time order,
 * not arrival order, so offline punches that arrive late fit where they happened. A timeline must
 * alternate in → out → in…; an `in` left open longer than the longest shift no longer counts as open
 * (a forgotten check-out).
 */

/** The sites a request may act on ('all' for admins), and who it is for the audit log. */
export type Authority = { scope: 'all' | ReadonlySet<string>; who: Who };

/** A punch ready to judge: identity resolved, eventId and occurredAt fixed. */
export type Punch = Authority & {
  eventId: string;
  employeeId: string;
  siteId?: string;
  deviceId: string | null;
  type: 'in' | 'out' | 'toggle';
  occurredAt: string;
  /** A kiosk that named the employee without proving their PIN: refused if the employee has one. */
  needsPin: boolean;
  /** Where the punch was made, judged against its site's geofence unless the puncher is exempt. */
  location?: Location;
  geofenceExempt?: boolean;
  /** A manager's correction: why they punched on the employee's behalf. */
  reason?: string;
};

/** A check-in to void: named by eventId, with its employee and time as read before (the judge checks them under the lock). */
export type VoidRequest = { eventId: string; employeeId: string; occurredAt: string; reason: string };

/** What a commit group carries: punches to judge, voids of stored ones, and older-API records to upsert. */
export type GroupItem = { punch: Punch } | ({ void: VoidRequest } & Authority) | ({ record: LegacyRecordInput } & Authority);

export type PunchResult = { checkin: Checkin; created: boolean };
export type ItemResult = PunchResult | { voided: Checkin } | { record: LegacyRecord };

export type Judged = {
  results: Array<ItemResult | Error>;
  write: GroupWrite;
  /** Sites whose presence may have changed: where punches landed and where their employees were. */
  sites: Set<string>;
  /** Employees whose older-API record changed. */
  recordsOf: Set<string>;
};

/** A punch on an employee's timeline; `at` in epoch ms. */
export type TimelinePunch = { type: 'in' | 'out'; at: number; siteId?: string | null };

export type RuleCode = 'already_checked_in' | 'not_checked_in' | 'out_of_sequence';

/** On success, `opened` is the check-in an `out` closes (its site is where the session ran). */
export type RuleVerdict = { ok: true; type: 'in' | 'out'; opened?: TimelinePunch } | { ok: false; code: RuleCode; message: string };

/** A check-in this group stores, with its time parsed, who asked, its result's index and those of its repeats in the group. */
type Fresh = { checkin: Checkin; at: number; who: Who; index: number; repeats: number[]; takenOut?: true };

/** A punch on an employee's timeline: stored (with its seq), or this group's. */
type Placed = TimelinePunch & { seq?: number; fresh?: Fresh };

/** A check-in this group voids: what it was, who voids it and why, and whether it was its employee's latest punch. */
type Void = { checkin: Checkin; who: Who; reason: string; index: number; wasLatest: boolean };

/**
 * Judge a group against the state it was read (or known) in, and build what it writes. An eventId
 * or an identical punch stored before (or earlier in this group) is answered as a duplicate, never
 * stored twice. Voids are judged first, so the group's punches are judged on the corrected timelines.
 * The valid punches are stored with consecutive seqs after `state.head`, then the voids' events, the
 * presence changes and the records; the rest are errors.
 */
export function judgeGroup(items: GroupItem[], state: GroupState, longestShiftMs: number): Judged {
  const results: Array<ItemResult | Error> = new Array(items.length);
  const punches: Array<{ punch: Punch; index: number }> = [];
  const voids: Array<{ request: VoidRequest; index: number } & Authority> = [];
  const records: Array<{ record: LegacyRecordInput; index: number; who: Who }> = [];
  items.forEach((item, index) => {
    if ('punch' in item) return void punches.push({ punch: item.punch, index });
    if ('void' in item) return void voids.push({ request: item.void, index, scope: item.scope, who: item.who });
    // An older-API record is for an employee in reach; one not stored yet belongs to no site.
    if (reaches({ sites: item.scope }, state.employees.get(item.record.id)?.siteId)) records.push({ record: item.record, index, who: item.who });
    else results[index] = new ForbiddenError(`not allowed to write records of employee ${item.record.id}`);
  });

  const board = boardOf(state);
  const voided = judgeVoids(voids, state, board, longestShiftMs, results);
  const fresh = judgePunches(punches, state, board, longestShiftMs, results);
  const sites = new Set<string>();
  for (const { checkin } of [...fresh, ...voided]) {
    if (checkin.siteId) sites.add(checkin.siteId);
    for (const s of state.timelines.get(checkin.employeeId) ?? []) if (s.siteId) sites.add(s.siteId);
  }

  let head = state.head;
  const events: StoredEvent[] = [];
  for (const f of fresh) {
    const c = f.checkin;
    c.seq = ++head;
    events.push({ seq: c.seq, name: 'checkin.recorded', siteId: c.siteId, employeeId: c.employeeId, payload: c });
  }
  const voidWrites: VoidWrite[] = [];
  const voidedAt = state.now.toISOString();
  for (const v of voided) {
    const c = v.checkin;
    const seq = ++head;
    const payload: CheckinVoided = { checkinSeq: c.seq, eventId: c.eventId, employeeId: c.employeeId, siteId: c.siteId, type: c.type, occurredAt: c.occurredAt, by: v.who.actorId, reason: v.reason };
    events.push({ seq, name: 'checkin.voided', siteId: c.siteId, employeeId: c.employeeId, payload });
    voidWrites.push({ seq: c.seq, voidedSeq: seq, by: v.who.actorId, reason: v.reason });
    results[v.index] = { voided: { ...c, voided: { seq, at: voidedAt, by: v.who.actorId, reason: v.reason } } };
  }
  for (const change of presenceChanges(fresh, voided, board.timelines, state.now, longestShiftMs)) {
    events.push({ seq: ++head, name: 'presence.changed', siteId: change.siteId, employeeId: change.employeeId, payload: change });
  }
  // One row per employee and date: a later record of the same day in this group replaces the earlier.
  const rows = new Map<string, RecordWrite>();
  // A check-in's entry names it (its eventId); the check-in row itself, never changed, is what it recorded.
  const audit: AuditRecord[] = [
    ...fresh.map(({ checkin: c, who }): AuditRecord =>
      c.reason === undefined
        ? { who, action: 'checkin', entity: 'checkin', entityId: c.eventId }
        : { who, action: 'correct', entity: 'checkin', entityId: c.eventId, changes: { employeeId: c.employeeId, type: c.type, occurredAt: c.occurredAt, reason: c.reason } },
    ),
    ...voided.map(({ checkin: c, who, reason }): AuditRecord => ({ who, action: 'void', entity: 'checkin', entityId: c.eventId, changes: { reason } })),
  ];
  for (const { record, index, who } of records) {
    const seq = ++head;
    events.push({ seq, name: 'record.updated', siteId: state.employees.get(record.id)?.siteId ?? null, employeeId: record.id, payload: record });
    rows.set(`${record.id}\u0000${record.date}`, { ...record, seq });
    audit.push({ who, action: 'upsert', entity: 'record', entityId: `${record.id}/${record.date}`, changes: record });
    results[index] = { record };
  }

  const write: GroupWrite = {
    head,
    events,
    checkins: fresh.map((f) => f.checkin),
    records: [...rows.values()],
    employees: records.map(({ record }) => ({ id: record.id, name: record.name })),
    voids: voidWrites,
    audit,
  };
  return { results, write, sites, recordsOf: new Set(records.map(({ record }) => record.id)) };
}

/** The timelines a group is judged on, and its look-ups by eventId and by identical punch, as voids and punches change them. */
type Board = { timelines: Map<string, Placed[]>; byEventId: Map<string, Checkin>; identical: Map<string, Checkin> };

function boardOf(state: GroupState): Board {
  const board: Board = { timelines: new Map(), byEventId: new Map(state.known), identical: new Map() };
  for (const [employeeId, checkins] of state.timelines) {
    const timeline: Placed[] = [];
    for (const c of checkins) {
      const at = Date.parse(c.occurredAt);
      timeline.push({ type: c.type, at, siteId: c.siteId, seq: c.seq });
      board.identical.set(punchKey(c.employeeId, c.type, at), c);
    }
    board.timelines.set(employeeId, timeline);
  }
  return board;
}

/**
 * Voids, each taking a stored punch off its employee's timeline. The punch after it must still fit
 * after the punch before it (voiding the `in` of a closed session would leave its `out` alone): if
 * not, the void is refused and the manager voids the later punch first, or adds the missing one.
 */
function judgeVoids(voids: Array<{ request: VoidRequest; index: number } & Authority>, state: GroupState, board: Board, longestShiftMs: number, results: Array<ItemResult | Error>): Void[] {
  const done: Void[] = [];
  const voidedHere = new Set<number>();
  for (const { request, index, scope, who } of voids) {
    const c = board.byEventId.get(request.eventId);
    if (!c || c.employeeId !== request.employeeId || c.occurredAt !== request.occurredAt) {
      results[index] = new NotFoundError('checkin_not_found', `no check-in with eventId ${request.eventId}`);
      continue;
    }
    if (!reaches({ sites: scope }, c.siteId ?? state.employees.get(c.employeeId)?.siteId)) {
      results[index] = new ForbiddenError(`not allowed to void check-ins of employee ${c.employeeId}`);
      continue;
    }
    if (c.voided || voidedHere.has(c.seq)) {
      results[index] = new AppError(409, 'already_voided', `check-in ${c.eventId} is already voided`);
      continue;
    }
    const timeline = board.timelines.get(c.employeeId) ?? [];
    const k = timeline.findIndex((p) => p.seq === c.seq);
    const next = timeline[k + 1];
    if (k < 0) throw new Error(`check-in ${c.seq} was not read with its timeline`);
    if (next && !fitsAfter(timeline[k - 1], next, longestShiftMs)) {
      results[index] = new AppError(409, 'out_of_sequence', `voiding this ${c.type} would leave the ${next.type} at ${new Date(next.at).toISOString()} without its pair: void that one first, or add the missing punch`);
      continue;
    }
    timeline.splice(k, 1);
    board.identical.delete(punchKey(c.employeeId, c.type, Date.parse(c.occurredAt)));
    voidedHere.add(c.seq);
    done.push({ checkin: c, who, reason: request.reason, index, wasLatest: k === timeline.length });
  }
  return done;
}

/** The punches' verdicts go into `results`; answers the check-ins to store (the timelines on the board take them in). */
function judgePunches(punches: Array<{ punch: Punch; index: number }>, state: GroupState, board: Board, longestShiftMs: number, results: Array<ItemResult | Error>): Fresh[] {
  const { now, employees, sites } = state;
  const { byEventId, timelines, identical } = board;
  const freshOf = new Map<Checkin, Fresh>();
  // A result that names a check-in of this group shares its fate if the check-in is taken out.
  const answer = (i: number, checkin: Checkin) => {
    results[i] = { checkin, created: false };
    freshOf.get(checkin)?.repeats.push(i);
  };

  // Each time is parsed once: the sort and the rules would otherwise parse it a dozen times per punch.
  const times = punches.map(({ punch }) => Date.parse(punch.occurredAt));
  const recordedAt = now.toISOString();
  const fresh: Fresh[] = [];
  for (const k of judgingOrder(times)) {
    const { punch: p, index: i } = punches[k]!;
    const at = times[k]!;
    const employee = employees.get(p.employeeId);
    // A credential punches only employees of its sites, and only at its sites.
    if (employee && !(reaches({ sites: p.scope }, employee.siteId) && (!p.siteId || reaches({ sites: p.scope }, p.siteId)))) {
      results[i] = new ForbiddenError(`not allowed to punch employee ${p.employeeId}${p.siteId ? ` at site ${p.siteId}` : ''}`);
      continue;
    }
    const known = byEventId.get(p.eventId);
    if (known) {
      if (sameRequest(known, p)) answer(i, known);
      else results[i] = new AppError(409, 'event_id_conflict', `eventId ${p.eventId} was already used for a different check-in`);
      continue;
    }
    if (!employee) {
      results[i] = new NotFoundError('unknown_employee', `no employee with id ${p.employeeId}`);
      continue;
    }
    if (p.needsPin && employee.hasPin) {
      results[i] = new AppError(401, 'invalid_pin', 'the PIN is missing or wrong');
      continue;
    }
    if (!employee.active) {
      results[i] = new AppError(409, 'employee_inactive', `employee ${p.employeeId} is inactive and cannot check in`);
      continue;
    }
    if (p.siteId && !sites.has(p.siteId)) {
      results[i] = new NotFoundError('unknown_site', `no site with id ${p.siteId}`);
      continue;
    }
    // A toggle's type is not known before it is judged: any punch at that same instant is its original.
    const twin =
      p.type === 'toggle'
        ? (identical.get(punchKey(p.employeeId, 'in', at)) ?? identical.get(punchKey(p.employeeId, 'out', at)))
        : identical.get(punchKey(p.employeeId, p.type, at));
    if (twin) {
      answer(i, twin);
      continue;
    }
    let timeline = timelines.get(p.employeeId);
    if (!timeline) timelines.set(p.employeeId, (timeline = []));
    const verdict = judgePunch(timeline, { type: p.type, at }, longestShiftMs);
    if (!verdict.ok) {
      results[i] = new AppError(409, verdict.code, verdict.message);
      continue;
    }
    // A check-out closes the session where it was opened unless the kiosk says otherwise.
    const siteId = p.siteId ?? verdict.opened?.siteId ?? employee.siteId;
    const site = siteId ? sites.get(siteId) : undefined;
    // Nobody checks in at a closed site; a session opened there before can still be closed.
    if (verdict.type === 'in' && site?.active === false) {
      results[i] = new AppError(409, 'site_inactive', `site ${siteId} is inactive`);
      continue;
    }
    // A manager's correction is made from wherever the manager is: only punches people make are fenced.
    const fence = judgeFence(site?.geofence ?? null, p.location, p.geofenceExempt === true || p.reason !== undefined);
    if (!fence.ok) {
      results[i] = new AppError(403, fence.code, fence.message);
      continue;
    }
    const checkin: Checkin = {
      seq: 0,
      eventId: p.eventId,
      employeeId: p.employeeId,
      siteId,
      deviceId: p.deviceId,
      type: verdict.type,
      occurredAt: p.occurredAt,
      recordedAt,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      ...(p.location === undefined ? {} : { location: p.location }),
      ...(fence.result === undefined ? {} : { geofence: fence.result }),
    };
    const f: Fresh = { checkin, at, who: p.who, index: i, repeats: [] };
    insertPunch(timeline, { type: verdict.type, at, siteId: checkin.siteId, fresh: f });
    identical.set(punchKey(checkin.employeeId, checkin.type, at), checkin);
    byEventId.set(checkin.eventId, checkin);
    freshOf.set(checkin, f);
    fresh.push(f);
    results[i] = { checkin, created: true };
  }

  for (const timeline of timelines.values()) {
    for (const { punch, code, message } of takeOutMisfits(timeline, (t) => t.fresh !== undefined, longestShiftMs)) {
      const f = punch.fresh!;
      f.takenOut = true;
      for (const r of [f.index, ...f.repeats]) results[r] = new AppError(409, code, message);
    }
  }
  return fresh.filter((f) => !f.takenOut);
}

/**
 * An employee whose latest punch (in time) is now one of this group's gets a `presence.changed`; so
 * does one whose latest punch this group voided, as the punch before it now says.
 */
function presenceChanges(fresh: Fresh[], voided: Void[], timelines: Map<string, Placed[]>, now: Date, longestShiftMs: number): PresenceChange[] {
  const changes = new Map<string, PresenceChange>();
  for (const { checkin: c, at } of fresh) {
    const last = timelines.get(c.employeeId)!.at(-1)!;
    if (last.at !== at || last.type !== c.type) continue;
    const present = c.type === 'in' && now.getTime() - at <= longestShiftMs;
    changes.set(c.employeeId, { siteId: c.siteId, employeeId: c.employeeId, present, since: present ? c.occurredAt : null });
  }
  for (const { checkin: c, wasLatest } of voided) {
    const last = timelines.get(c.employeeId)!.at(-1);
    if (!wasLatest || last?.fresh) continue;
    const present = last?.type === 'in' && now.getTime() - last.at <= longestShiftMs;
    changes.set(c.employeeId, present ? { siteId: last.siteId ?? null, employeeId: c.employeeId, present, since: new Date(last.at).toISOString() } : { siteId: c.siteId, employeeId: c.employeeId, present, since: null });
  }
  return [...changes.values()];
}

const isOpenAt = (prev: TimelinePunch | undefined, at: number, longestShiftMs: number) =>
  prev !== undefined && prev.type === 'in' && at - prev.at <= longestShiftMs;

/**
 * Judge one punch against the punch before it in time (timeline sorted by `at`). `toggle` becomes
 * `out` when the employee is in at that moment, else `in`. Whether the stored punch after it still
 * fits is asked apart (`takeOutMisfits`), once a whole group is placed: a later punch of the same group
 * may be what makes it fit (an offline in and out synced before a stored in).
 */
export function judgePunch(timeline: readonly TimelinePunch[], punch: { type: 'in' | 'out' | 'toggle'; at: number }, longestShiftMs: number): RuleVerdict {
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

/** Indexes of punches by time, arrival order breaking ties. */
function judgingOrder(times: number[]): number[] {
  return times.map((_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
}

const punchKey = (employeeId: string, type: string, at: number) => `${employeeId}\u0000${type}\u0000${at}`;

/** A retry carries the same employee and (unless it was a toggle) the same type. */
const sameRequest = (c: Checkin, p: Punch) => c.employeeId === p.employeeId && (p.type === 'toggle' || p.type === c.type);
