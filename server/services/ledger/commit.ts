import type { GroupRead, GroupWrite, LedgerStore } from '../../repositories/ledger.js';
import { judgeGroup, type GroupItem, type Judged, type Punch } from './judge.js';
import type { KnownState } from './known.js';

/**
 * One commit group, in one transaction. The seq lock is taken first, so every writer on every node
 * judges against the committed state and nothing can race. A group of live punches whose employees
 * and sites this node knows is judged from that and written in one round trip, the write checking
 * that what the judge was given still holds (else it writes nothing and the group goes the usual way:
 * read under the lock, judge, write).
 */
export async function commitGroup(store: LedgerStore, items: GroupItem[], longestShiftMs: number, known: KnownState): Promise<Judged> {
  const punches = items.flatMap((item) => ('punch' in item ? [item.punch] : []));
  const fromMemory = punches.length === items.length ? known.group(punches, longestShiftMs, Date.now()) : null;
  if (fromMemory) {
    const judged = judgeGroup(items, fromMemory.state, longestShiftMs);
    const at = await store.runIfUnchanged(fromMemory.assumed, judged.write);
    if (at) {
      placeAt(judged.write, at.head, at.now);
      known.wrote(judged.write.checkins, fromMemory.state);
      return judged;
    }
  }
  const read = readFor(items, punches);
  let judged!: Judged;
  const { state } = await store.run(read, (state) => (judged = judgeGroup(items, state, longestShiftMs)).write);
  known.learn(read, state, judged.write.checkins);
  // What was read of them still shows the punches this group voided.
  known.forget(items.flatMap((item) => ('void' in item ? [item.void.employeeId] : [])));
  return judged;
}

/** A group judged from seq 0 and this node's clock, moved to the head and clock the write found. */
function placeAt(write: GroupWrite, head: number, now: Date): void {
  const recordedAt = now.toISOString();
  for (const c of write.checkins) {
    c.seq += head;
    c.recordedAt = recordedAt;
  }
  // A checkin.recorded event's payload is its check-in, moved above.
  for (const e of write.events) e.seq += head;
  write.head += head;
}

/**
 * The stored state the rules need: a punch is judged on its neighbours in time, so for each employee
 * and instant the nearest stored punch before it, any at it and the nearest after it are read; never
 * what lies between two far-apart punches of a batch. A void reads its check-in by eventId and the
 * neighbours of its instant. Records need their employees (for the site).
 */
function readFor(items: GroupItem[], punches: Punch[]): GroupRead {
  const voids = items.flatMap((item) => ('void' in item ? [item.void] : []));
  const instants = new Map<string, { employeeId: string; at: Date }>();
  for (const p of [...punches, ...voids]) instants.set(`${p.employeeId}\u0000${p.occurredAt}`, { employeeId: p.employeeId, at: new Date(p.occurredAt) });
  return {
    employeeIds: unique(items.map((item) => ('punch' in item ? item.punch.employeeId : 'void' in item ? item.void.employeeId : item.record.id))),
    siteIds: unique(punches.flatMap((p) => (p.siteId ? [p.siteId] : []))),
    eventIds: unique([...punches, ...voids].map((p) => p.eventId)),
    instants: [...instants.values()],
  };
}

const unique = (values: string[]) => [...new Set(values)];
