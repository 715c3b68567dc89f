import type { LiveEvent } from '../../shared/events.js';
import type { Expected, ExpectedEntry, PresenceAnswer } from '../../shared/schemas.js';
import { Unreachable, type Api } from '../lib/api.js';

export type Waiting = ExpectedEntry & { siteId: string };

/** A check-in seen live: an answer older than it (a lower seq) still lists its person. */
type Arrival = { seq: number; employeeId: string; siteId: string | null; at: number };

/** Asked again this long after the hub's `changesAt`, at random, so that a site's screens do not all ask at once. */
const JITTER_MIN_MS = 500;
const JITTER_MAX_MS = 5000;
const RETRY_FIRST_MS = 5000;
const RETRY_LAST_MS = 60_000;

// A check-in counts for a run from its window's opening, at the site or without one (the employee's own).
const counts = (a: Arrival, siteId: string, e: ExpectedEntry) => (a.siteId === siteId || a.siteId === null) && a.at >= Date.parse(e.opens);

/**
 * Who each chosen site expects and has not seen, without the DOM: the hub's last answer per site,
 * less the people whose check-in came live after it. An answer is as of a seq; a check-in with a
 * higher seq takes its person off, and one the answer already holds (a resume's replay) changes nothing.
 */
export class ExpectedModel {
  private readonly sites = new Map<string, { seq: number; entries: Map<string, ExpectedEntry> }>();
  private arrivals: Arrival[] = [];
  /** The hub's clock less this screen's, as the last answer showed it: lateness is counted on the hub's time. */
  skew = 0;
  changed = false;

  constructor(private readonly siteIds: readonly string[]) {}

  answer(siteId: string, expected: Expected, receivedAt: number): void {
    this.skew = Date.parse(expected.asOf) - receivedAt;
    const later = this.arrivals.filter((a) => a.seq > expected.seq);
    const entries = expected.entries.filter((e) => !later.some((a) => a.employeeId === e.employeeId && counts(a, siteId, e)));
    this.sites.set(siteId, { seq: expected.seq, entries: new Map(entries.map((e) => [e.employeeId, e])) });
    // Arrivals every site's answer holds can matter to none.
    const held = Math.min(...this.siteIds.map((id) => this.sites.get(id)?.seq ?? 0));
    this.arrivals = this.arrivals.filter((a) => a.seq > held);
    this.changed = true;
  }

  event(e: LiveEvent): void {
    if (e.name !== 'checkin.recorded' || e.payload.type !== 'in') return;
    const a = { seq: e.seq, employeeId: e.payload.employeeId, siteId: e.payload.siteId, at: Date.parse(e.payload.occurredAt) };
    this.arrivals.push(a);
    for (const [siteId, site] of this.sites) {
      const entry = site.entries.get(a.employeeId);
      if (entry && a.seq > site.seq && counts(a, siteId, entry)) {
        site.entries.delete(a.employeeId);
        this.changed = true;
      }
    }
  }

  /** Most late first, then by name. */
  rows(): Waiting[] {
    const rows = [...this.sites].flatMap(([siteId, site]) => [...site.entries.values()].map((e) => ({ ...e, siteId })));
    return rows.sort((a, b) => Date.parse(a.start) - Date.parse(b.start) || a.name.localeCompare(b.name) || (a.employeeId < b.employeeId ? -1 : 1));
  }
}

/**
 * Keeps each site's answer current without polling: asked on subscribe and resume (`refresh`), at the
 * hub's `changesAt` (a shift starts or ends), and after a check-in is voided there (its person may be
 * expected again). Arrivals need no asking: their events take people off. One request per site at a
 * time; a refresh asked for meanwhile follows it.
 */
export function followExpected(opts: { api: Api; siteIds: readonly string[]; onAnswer(siteId: string, answer: PresenceAnswer, receivedAt: number): void }) {
  const state = new Map(opts.siteIds.map((id) => [id, { timer: undefined as ReturnType<typeof setTimeout> | undefined, busy: false, again: false, retryMs: RETRY_FIRST_MS }]));
  let stopped = false;
  const jitter = () => JITTER_MIN_MS + Math.random() * (JITTER_MAX_MS - JITTER_MIN_MS);

  const later = (siteId: string, ms: number) => {
    const s = state.get(siteId)!;
    clearTimeout(s.timer);
    s.timer = setTimeout(() => void ask(siteId), Math.max(0, ms));
  };

  async function ask(siteId: string): Promise<void> {
    const s = state.get(siteId);
    if (!s || stopped) return;
    clearTimeout(s.timer);
    if (s.busy) return void (s.again = true);
    s.busy = true;
    try {
      const answer = await opts.api.get<PresenceAnswer>(`/api/v1/presence?siteId=${encodeURIComponent(siteId)}`);
      if (stopped) return;
      opts.onAnswer(siteId, answer, Date.now());
      s.retryMs = RETRY_FIRST_MS;
      // Measured on the hub's clock, so a screen whose own clock is off still asks when the list changes.
      later(siteId, Date.parse(answer.expected.changesAt) - Date.parse(answer.expected.asOf) + jitter());
    } catch (err) {
      // A refusal waits for the next subscribe; a hub out of reach is asked again, less often each time.
      if (err instanceof Unreachable) {
        later(siteId, s.retryMs + jitter());
        s.retryMs = Math.min(s.retryMs * 2, RETRY_LAST_MS);
      }
    } finally {
      s.busy = false;
      if (s.again && !stopped) {
        s.again = false;
        void ask(siteId);
      }
    }
  }

  return {
    refresh: () => opts.siteIds.forEach((id) => void ask(id)),
    event(e: LiveEvent) {
      if (e.name === 'checkin.voided' && e.payload.type === 'in') for (const id of e.siteId ? [e.siteId] : opts.siteIds) if (state.has(id)) later(id, jitter());
    },
    stop() {
      stopped = true;
      for (const s of state.values()) clearTimeout(s.timer);
    },
  };
}
