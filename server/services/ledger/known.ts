import type { Checkin } from '../../../shared/schemas.js';
import type { HubEvent } from '../../events/event.js';
import type { Assumed, GroupRead, GroupState, SiteRules } from '../../repositories/ledger.js';
import type { Punch } from './judge.js';

export type KnownEmployee = { siteId: string | null; active: boolean; hasPin: boolean };

/** A group that can be judged from what this node knows, and what the write must find unchanged. */
export type KnownGroup = { state: GroupState; assumed: Assumed };

export type KnownState = ReturnType<typeof createKnownState>;

// Enough for every employee of a large tenant; an entry is ~200 bytes.
const MAX_EMPLOYEES = 100_000;
const MAX_SITES = 10_000;
// Presence is decided with this node's clock on this path: stay clear of the longest shift's edge.
const CLOCK_MARGIN_MS = 60_000;

/** A Map that forgets the entry used longest ago past `max` (a Map keeps insertion order). */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}

/**
 * What this node last saw committed of each employee (row, and latest punch by occurredAt) and of
 * each site (active or not). A live punch comes after its employee's latest, so that is all the rules
 * look at: a group of such punches is judged from here and written in one round trip, by a statement
 * that first checks, under the seq lock, that all of it is still what is stored (repositories/ledger.ts).
 * Anything else, or a check that fails, takes the two-round-trip path, which refreshes what is known.
 */
export function createKnownState() {
  const employees = new Map<string, { employee: KnownEmployee; last: Checkin | null }>();
  const sites = new Map<string, SiteRules>();

  return {
    /** null unless every item is a punch of a known employee, the only one of that employee, after its latest, at known sites. */
    group(punches: Punch[], longestShiftMs: number, now: number): KnownGroup | null {
      const state: GroupState = { head: 0, now: new Date(now), employees: new Map(), sites: new Map(), known: new Map(), timelines: new Map() };
      const assumed: Assumed = { employees: [], sites: [], unusedEventIds: [] };
      const site = (id: string | null | undefined) => {
        if (!id || state.sites.has(id)) return true;
        const rules = sites.get(id);
        if (rules === undefined) return false;
        state.sites.set(id, rules);
        assumed.sites.push({ id, ...rules });
        return true;
      };
      for (const p of punches) {
        const known = employees.get(p.employeeId);
        const at = Date.parse(p.occurredAt);
        if (!known || state.employees.has(p.employeeId)) return null;
        if (known.last && at <= Date.parse(known.last.occurredAt)) return null;
        if (now - at > longestShiftMs - CLOCK_MARGIN_MS) return null;
        if (!site(p.siteId) || !site(known.employee.siteId)) return null;
        state.employees.set(p.employeeId, { id: p.employeeId, ...known.employee });
        state.timelines.set(p.employeeId, known.last ? [known.last] : []);
        assumed.employees.push({ employeeId: p.employeeId, ...known.employee, lastSeq: known.last?.seq ?? null });
        assumed.unusedEventIds.push(p.eventId);
      }
      // Seqs count from 0 and recordedAt is a placeholder: the write adds the head and the clock it finds.
      return { state, assumed };
    },

    /** After a write from memory: each employee's new latest punch. */
    wrote(checkins: Checkin[], state: GroupState): void {
      for (const c of checkins) remember(employees, c.employeeId, { employee: state.employees.get(c.employeeId)!, last: c }, MAX_EMPLOYEES);
    },

    /** After a read: the sites, and each employee's latest punch where the read shows it (it holds only the nearest one after the group's last instant). */
    learn(read: GroupRead, state: GroupState, fresh: Checkin[]): void {
      for (const [id, rules] of state.sites) remember(sites, id, rules, MAX_SITES);
      const newest = new Map<string, Checkin>();
      for (const c of [...[...state.timelines.values()].flat(), ...fresh]) {
        const best = newest.get(c.employeeId);
        if (!best || (Date.parse(c.occurredAt) - Date.parse(best.occurredAt) || c.seq - best.seq) > 0) newest.set(c.employeeId, c);
      }
      const lastAt = new Map<string, number>();
      for (const { employeeId, at } of read.instants) lastAt.set(employeeId, Math.max(lastAt.get(employeeId) ?? -Infinity, at.getTime()));
      for (const [employeeId, to] of lastAt) {
        const employee = state.employees.get(employeeId);
        const stored = state.timelines.get(employeeId) ?? [];
        if (!employee || stored.some((c) => Date.parse(c.occurredAt) > to)) employees.delete(employeeId);
        else remember(employees, employeeId, { employee: { siteId: employee.siteId, active: employee.active, hasPin: employee.hasPin }, last: newest.get(employeeId) ?? null }, MAX_EMPLOYEES);
      }
    },

    /** Employees whose timeline this node cannot vouch for (a punch of theirs was voided): read afresh next time. */
    forget(employeeIds: Iterable<string>): void {
      for (const id of employeeIds) employees.delete(id);
    },

    /**
     * Committed events from every node, in seq order. A check-in this node did not learn of here may
     * be newer than what it knows, and a void may have taken away what it knows as the latest: forget
     * that employee (the next punch reads it afresh).
     */
    observe(events: HubEvent[]): void {
      for (const e of events) {
        if ((e.name !== 'checkin.recorded' && e.name !== 'checkin.voided') || !e.employeeId) continue;
        const known = employees.get(e.employeeId);
        if (known && e.seq > (known.last?.seq ?? 0)) employees.delete(e.employeeId);
      }
    },

    get size() {
      return employees.size;
    },
  };
}
