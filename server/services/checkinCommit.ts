import type { Checkin, PresenceChanged } from '../../shared/schemas.js';
import { AppError, NotFoundError } from '../errors.js';
import type { BatchState, BatchWrite, CheckinLedger } from '../repositories/checkinBatch.js';
import type { HubEvent } from '../repositories/events.js';
import { insertPunch, judgePunch, takeOutMisfits, type TimelinePunch } from './checkinRules.js';
import type { LatestPunches } from './latestPunches.js';

/** A punch ready to judge: identity resolved, eventId and occurredAt fixed. */
export type Punch = {
  eventId: string;
  employeeId: string;
  siteId?: string;
  deviceId: string | null;
  type: 'in' | 'out' | 'toggle';
  occurredAt: string;
};

export type PunchResult = { checkin: Checkin; created: boolean };

export type CommitOutcome = {
  results: Array<PunchResult | Error>;
  events: HubEvent[];
  /** Sites whose presence may have changed: where punches landed and where their employees were. */
  sites: Set<string>;
};

/**
 * One transaction for a group of punches. The seq lock is taken first, so every writer on every node
 * judges against the committed state and nothing can race: an eventId or an identical punch stored
 * before (or earlier in this group) is returned as a duplicate, never stored twice. Punches are
 * judged in occurredAt order; the valid ones are stored with consecutive seqs, the rest are errors.
 *
 * With `latest`, a group of live punches whose employees' latest punches this node knows is judged
 * from those and written in one round trip, the write checking they still hold (else it writes
 * nothing and the group goes the usual way: read under the lock, judge, write).
 */
export async function commitPunches(ledger: CheckinLedger, punches: Punch[], longestShiftMs: number, latest?: LatestPunches): Promise<CommitOutcome> {
  const known = latest?.knownGroup(punches, longestShiftMs, Date.now());
  if (known) {
    const judged = judge(punches, known.state, longestShiftMs);
    const activeSites = unique(judged.write.checkins.flatMap((c) => (c.type === 'in' && c.siteId ? [c.siteId] : [])));
    const at = await ledger.runVerified({ ...known.expected, activeSites }, judged.write);
    if (at) {
      placeAt(judged.write, at.head, at.now);
      for (const c of judged.write.checkins) latest!.remember(c.employeeId, known.state.employees.get(c.employeeId)!, c);
      return judged.outcome;
    }
  }

  const read = {
    employeeIds: unique(punches.map((p) => p.employeeId)),
    siteIds: unique(punches.flatMap((p) => (p.siteId ? [p.siteId] : []))),
    eventIds: unique(punches.map((p) => p.eventId)),
    instants: timelineInstants(punches),
  };
  let judged!: ReturnType<typeof judge>;
  let state!: BatchState;
  await ledger.run(read, (readState) => {
    state = readState;
    judged = judge(punches, state, longestShiftMs);
    return judged.write;
  });
  if (latest) learn(latest, read.instants, state, judged.write.checkins);
  return judged.outcome;
}

/** A group judged from seq 0 and this node's clock, moved to the head and clock the write found. */
function placeAt(write: BatchWrite, head: number, now: Date): void {
  const recordedAt = now.toISOString();
  for (const c of write.checkins) {
    c.seq += head;
    c.recordedAt = recordedAt;
  }
  for (const e of write.events) {
    // A checkin.recorded event's data is the check-in itself, moved above.
    if (e.kind === 'presence.changed') (e.data as PresenceChanged).seq += head;
    e.seq += head;
  }
  write.head += head;
}

/** After a read: each employee's latest punch, where the read shows it (it holds only the nearest one after the group's last instant). */
function learn(latest: LatestPunches, instants: Array<{ employeeId: string; at: Date }>, state: BatchState, fresh: Checkin[]): void {
  const newest = new Map<string, Checkin>();
  for (const c of [...[...state.timelines.values()].flat(), ...fresh]) {
    const best = newest.get(c.employeeId);
    if (!best || (Date.parse(c.occurredAt) - Date.parse(best.occurredAt) || c.seq - best.seq) > 0) newest.set(c.employeeId, c);
  }
  const lastAt = new Map<string, number>();
  for (const { employeeId, at } of instants) lastAt.set(employeeId, Math.max(lastAt.get(employeeId) ?? -Infinity, at.getTime()));
  for (const [employeeId, to] of lastAt) {
    const employee = state.employees.get(employeeId);
    const stored = state.timelines.get(employeeId) ?? [];
    if (!employee || stored.some((c) => Date.parse(c.occurredAt) > to)) latest.forget(employeeId);
    else latest.remember(employeeId, employee, newest.get(employeeId) ?? null);
  }
}

/** A check-in this group stores, with its time parsed, its result's index and those of its repeats in the group. */
type Fresh = { checkin: Checkin; at: number; index: number; repeats: number[]; takenOut?: true };

/** A punch on an employee's timeline: stored, or this group's. */
type Placed = TimelinePunch & { fresh?: Fresh };

/** The rules over one group, against the state it was read (or known) in. */
function judge(punches: Punch[], state: BatchState, longestShiftMs: number) {
  const results: Array<PunchResult | Error> = new Array(punches.length);
  const { head, now, employees, sites, known: byEventId, timelines: stored } = state;
  const timelines = new Map<string, Placed[]>();
  const identical = new Map<string, Checkin>();
  const freshOf = new Map<Checkin, Fresh>();
  // A result that names a check-in of this group shares its fate if the check-in is taken out.
  const answer = (i: number, checkin: Checkin) => {
    results[i] = { checkin, created: false };
    freshOf.get(checkin)?.repeats.push(i);
  };
  for (const [employeeId, checkins] of stored) {
    const timeline: Placed[] = [];
    for (const c of checkins) {
      const at = Date.parse(c.occurredAt);
      timeline.push({ type: c.type, at, siteId: c.siteId });
      identical.set(punchKey(c.employeeId, c.type, at), c);
    }
    timelines.set(employeeId, timeline);
  }

  // Each time is parsed once: the sort and the rules would otherwise parse it a dozen times per punch.
  const times = punches.map((p) => Date.parse(p.occurredAt));
  const recordedAt = now.toISOString();
  let fresh: Fresh[] = [];
  for (const i of judgingOrder(times)) {
    const p = punches[i]!;
    const at = times[i]!;
    const known = byEventId.get(p.eventId);
    if (known) {
      if (sameRequest(known, p)) answer(i, known);
      else results[i] = eventIdReused(p.eventId);
      continue;
    }
    const employee = employees.get(p.employeeId);
    if (!employee) {
      results[i] = new NotFoundError('unknown_employee', `no employee with id ${p.employeeId}`);
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
    const timeline = timelines.get(p.employeeId)!;
    const verdict = judgePunch(timeline, { type: p.type, at }, longestShiftMs);
    if (!verdict.ok) {
      results[i] = new AppError(409, verdict.code, verdict.message);
      continue;
    }
    // A check-out closes the session where it was opened unless the kiosk says otherwise.
    const siteId = p.siteId ?? verdict.opened?.siteId ?? employee.siteId;
    // Nobody checks in at a closed site; a session opened there before can still be closed.
    if (verdict.type === 'in' && siteId && sites.get(siteId) === false) {
      results[i] = new AppError(409, 'site_inactive', `site ${siteId} is inactive`);
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
    };
    const f: Fresh = { checkin, at, index: i, repeats: [] };
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
  fresh = fresh.filter((f) => !f.takenOut);
  const touchedSites = new Set<string>();
  for (const { checkin } of fresh) {
    if (checkin.siteId) touchedSites.add(checkin.siteId);
    for (const s of stored.get(checkin.employeeId) ?? []) if (s.siteId) touchedSites.add(s.siteId);
  }

  const events = numberEvents(fresh, timelines, head, now, longestShiftMs);
  const write: BatchWrite = { events, checkins: fresh.map((f) => f.checkin), head: head + events.length };
  return { write, outcome: { results, events, sites: touchedSites } satisfies CommitOutcome };
}

/**
 * Seqs follow commit order. Each stored punch is a `checkin.recorded`; an employee whose latest punch
 * (in time) is now one of these also gets a `presence.changed`, with a seq of its own.
 */
function numberEvents(fresh: Fresh[], timelines: Map<string, TimelinePunch[]>, head: number, now: Date, longestShiftMs: number): HubEvent[] {
  const events: HubEvent[] = [];
  const latest = new Map<string, Fresh>();
  for (const f of fresh) {
    const c = f.checkin;
    c.seq = ++head;
    events.push({ seq: c.seq, kind: 'checkin.recorded', siteId: c.siteId, employeeId: c.employeeId, data: c });
    const last = timelines.get(c.employeeId)!.at(-1)!;
    if (last.at === f.at && last.type === c.type) latest.set(c.employeeId, f);
  }
  for (const { checkin: c, at } of latest.values()) {
    const present = c.type === 'in' && now.getTime() - at <= longestShiftMs;
    const change: PresenceChanged = { seq: ++head, siteId: c.siteId, employeeId: c.employeeId, present, since: present ? c.occurredAt : null };
    events.push({ seq: change.seq, kind: 'presence.changed', siteId: c.siteId, employeeId: c.employeeId, data: change });
  }
  return events;
}

/**
 * The stored punches the rules need: a punch is judged on its neighbours in time, so for each
 * employee and instant the nearest stored punch before it, any at it and the nearest after it are
 * read; never what lies between two far-apart punches of a batch.
 */
function timelineInstants(punches: Punch[]) {
  const seen = new Map<string, { employeeId: string; at: Date }>();
  for (const p of punches) seen.set(`${p.employeeId}\u0000${p.occurredAt}`, { employeeId: p.employeeId, at: new Date(p.occurredAt) });
  return [...seen.values()];
}

/** Indexes of punches by time, arrival order breaking ties. */
function judgingOrder(times: number[]): number[] {
  return times.map((_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
}

const punchKey = (employeeId: string, type: string, at: number) => `${employeeId}\u0000${type}\u0000${at}`;

/** A retry carries the same employee and (unless it was a toggle) the same type. */
const sameRequest = (c: Checkin, p: Punch) => c.employeeId === p.employeeId && (p.type === 'toggle' || p.type === c.type);

const eventIdReused = (eventId: string) =>
  new AppError(409, 'event_id_conflict', `eventId ${eventId} was already used for a different check-in`);

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
