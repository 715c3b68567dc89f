import type { Checkin } from '../../shared/schemas.js';
import type { BatchState, VerifiedState } from '../repositories/checkinBatch.js';
import type { HubEvent } from '../repositories/events.js';
import type { Punch } from './checkinCommit.js';

export type KnownEmployee = { siteId: string | null; active: boolean };

/** A group that can be judged from what this node knows, and what the write must find unchanged. */
export type KnownGroup = { state: BatchState; expected: Omit<VerifiedState, 'activeSites'> };

export type LatestPunches = ReturnType<typeof createLatestPunches>;

// Enough for every employee of a large tenant; an entry is ~200 bytes.
const MAX_ENTRIES = 100_000;
// Presence is decided with this node's clock on this path: stay clear of the longest shift's edge.
const CLOCK_MARGIN_MS = 60_000;

/**
 * Each employee's latest punch (by occurredAt) and employee row, as this node last saw them
 * committed. A live punch comes after its employee's latest, so these are all the rules look at:
 * a group of such punches is judged here and written in one round trip, by a statement that first
 * checks, under the seq lock, that none of it changed (checkinBatch.ts). Anything else, or a check
 * that fails, takes the two-round-trip path, which refreshes what is known.
 */
export function createLatestPunches(maxEntries = MAX_ENTRIES) {
  const entries = new Map<string, { employee: KnownEmployee; last: Checkin | null }>();

  function remember(employeeId: string, employee: KnownEmployee, last: Checkin | null): void {
    entries.delete(employeeId);
    entries.set(employeeId, { employee: { siteId: employee.siteId, active: employee.active }, last });
    // A Map keeps insertion order: the first key is the one used longest ago.
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  }

  return {
    remember,
    forget: (employeeId: string) => void entries.delete(employeeId),

    /** null unless every punch is an active known employee's only punch in the group, after its latest. */
    knownGroup(punches: Punch[], longestShiftMs: number, now: number): KnownGroup | null {
      const employees: BatchState['employees'] = new Map();
      const timelines: BatchState['timelines'] = new Map();
      const expected: KnownGroup['expected'] = { employees: [], sites: [], eventIds: [] };
      for (const p of punches) {
        const known = entries.get(p.employeeId);
        const at = Date.parse(p.occurredAt);
        if (!known?.employee.active || employees.has(p.employeeId)) return null;
        if (known.last && at <= Date.parse(known.last.occurredAt)) return null;
        if (now - at > longestShiftMs - CLOCK_MARGIN_MS) return null;
        employees.set(p.employeeId, { id: p.employeeId, ...known.employee });
        timelines.set(p.employeeId, known.last ? [known.last] : []);
        expected.employees.push({ employeeId: p.employeeId, siteId: known.employee.siteId, lastSeq: known.last?.seq ?? null });
        expected.eventIds.push(p.eventId);
        if (p.siteId && !expected.sites.includes(p.siteId)) expected.sites.push(p.siteId);
      }
      // Seqs count from 0 and recordedAt is a placeholder: the write adds the head and the clock it finds.
      // Sites are taken to exist and be active; the write checks both.
      const sites = new Map(expected.sites.map((id) => [id, true]));
      const state: BatchState = { head: 0, now: new Date(now), employees, sites, known: new Map(), timelines };
      return { state, expected };
    },

    /**
     * Committed events from every node, in seq order. A check-in this node did not learn of here may
     * be newer than what it knows: forget that employee (the next punch reads it afresh).
     */
    observe(events: HubEvent[]): void {
      for (const e of events) {
        if (e.kind !== 'checkin.recorded' || !e.employeeId) continue;
        const known = entries.get(e.employeeId);
        if (known && e.seq > (known.last?.seq ?? 0)) entries.delete(e.employeeId);
      }
    },

    get size() {
      return entries.size;
    },
  };
}
