import type { Site } from '../../shared/directory.js';
import type { LiveEvent } from '../../shared/events.js';
import type { Checkin, CheckinRecorded, PresenceEntry } from '../../shared/schemas.js';
import { localDay, localHour } from '../lib/time.js';
import type { Presence } from './presentList.js';

/** What the board is handed, in arrival order. */
export type Step =
  | { kind: 'event'; event: LiveEvent }
  /** The hub no longer had the events this board missed: forget the day's counts and check-ins (a snapshot and history follow). */
  | { kind: 'reset' }
  | { kind: 'snapshot'; presence: Record<string, PresenceEntry[]> }
  /** Today's check-ins as of the subscription's seq (`upTo`): live events bring everything after it. */
  | { kind: 'history'; checkins: Checkin[]; upTo: number }
  | { kind: 'names'; entries: Array<Pick<PresenceEntry, 'employeeId' | 'name'>> };

export type Punch = Pick<CheckinRecorded, 'employeeId' | 'siteId' | 'type' | 'occurredAt'> & { seq: number };

/** A site's day: check-ins per local hour, and how many in and out. */
export type Day = { hours: number[]; in: number; out: number };

const STREAM_LENGTH = 30;

/**
 * The board's state, without the DOM: each step is a few map updates that note what the view must
 * redo (employees whose row may have changed, the counts, the stream), so a frame's worth of events
 * costs microseconds before anything is drawn.
 */
export class BoardModel {
  readonly names = new Map<string, string>();
  readonly present = new Map<string, Presence>();
  /** The latest check-ins, newest (highest seq) first. */
  readonly stream: Punch[] = [];
  readonly dirty = new Set<string>();
  countsChanged = true;
  streamChanged = true;
  /** Per site and local day. */
  private readonly days = new Map<string, Day>();

  constructor(
    private readonly zone: (siteId: string | null) => string,
    /** Someone checked in whose name the board has not got (not in its snapshot). */
    private readonly unnamed: (siteId: string) => void,
  ) {}

  apply(step: Step): void {
    switch (step.kind) {
      case 'reset':
        this.days.clear();
        this.stream.length = 0;
        this.countsChanged = true;
        this.streamChanged = true;
        return;
      case 'snapshot':
        // The hub's view now; events after it follow (a resume's replay brings the rest in order).
        for (const id of this.present.keys()) this.dirty.add(id);
        this.present.clear();
        for (const [siteId, entries] of Object.entries(step.presence))
          for (const e of entries) {
            this.names.set(e.employeeId, e.name);
            this.present.set(e.employeeId, { siteId, since: Date.parse(e.since) });
            this.dirty.add(e.employeeId);
          }
        return;
      case 'history':
        // Voided by then: never counted. Voided since: counted now, and taken back by its checkin.voided event.
        for (const c of step.checkins) if (!c.voided || c.voided.seq > step.upTo) this.punched(c);
        return;
      case 'names':
        for (const e of step.entries)
          if (this.names.get(e.employeeId) !== e.name) {
            this.names.set(e.employeeId, e.name);
            this.dirty.add(e.employeeId);
            this.streamChanged = true;
          }
        return;
      case 'event': {
        const e = step.event;
        if (e.name === 'checkin.recorded') {
          this.punched({ ...e.payload, seq: e.seq });
          if (!this.names.has(e.payload.employeeId) && e.payload.siteId) this.unnamed(e.payload.siteId);
        } else if (e.name === 'checkin.voided') {
          this.unpunched({ ...e.payload, seq: e.payload.checkinSeq });
        } else if (e.name === 'presence.changed') {
          const p = e.payload;
          const now = this.present.get(p.employeeId);
          if (p.present && p.siteId && p.since) this.present.set(p.employeeId, { siteId: p.siteId, since: Date.parse(p.since) });
          else if (now && (now.siteId === p.siteId || !p.siteId)) this.present.delete(p.employeeId);
          this.dirty.add(p.employeeId);
          this.countsChanged = true;
        }
      }
    }
  }

  /** Today's check-ins per hour, and in and out, over these sites, each in its own zone's day. */
  today(sites: Site[], now = Date.now()): Day {
    const total: Day = { hours: new Array<number>(24).fill(0), in: 0, out: 0 };
    for (const s of sites) {
      const day = this.days.get(`${s.id} ${localDay(now, s.timeZone)}`);
      if (!day) continue;
      day.hours.forEach((n, i) => (total.hours[i]! += n));
      total.in += day.in;
      total.out += day.out;
    }
    return total;
  }

  /** A voided check-in comes off its day's counts and out of the stream. */
  private unpunched(c: Punch): void {
    const t = Date.parse(c.occurredAt);
    const tz = this.zone(c.siteId);
    const day = this.days.get(`${c.siteId} ${localDay(t, tz)}`);
    if (day && day[c.type] > 0) {
      if (c.type === 'in') day.hours[localHour(t, tz)]!--;
      day[c.type]--;
      this.countsChanged = true;
    }
    const at = this.stream.findIndex((s) => s.seq === c.seq);
    if (at >= 0) {
      this.stream.splice(at, 1);
      this.streamChanged = true;
    }
  }

  private punched(c: Punch): void {
    const t = Date.parse(c.occurredAt);
    const tz = this.zone(c.siteId);
    const key = `${c.siteId} ${localDay(t, tz)}`;
    let day = this.days.get(key);
    if (!day) this.days.set(key, (day = { hours: new Array<number>(24).fill(0), in: 0, out: 0 }));
    if (c.type === 'in') day.hours[localHour(t, tz)]!++;
    day[c.type]++;
    this.countsChanged = true;

    const { stream } = this;
    if (stream.length === STREAM_LENGTH && c.seq < stream.at(-1)!.seq) return;
    let at = 0;
    while (at < stream.length && stream[at]!.seq > c.seq) at++;
    stream.splice(at, 0, c);
    stream.length = Math.min(stream.length, STREAM_LENGTH);
    this.streamChanged = true;
  }
}
