import type { LiveEvent, LiveEventName } from '../../shared/events.js';
import { CheckinRecorded, CheckinVoided, LegacyRecord, PresenceChange } from '../../shared/schemas.js';

/** A committed event as the hub passes it around, between nodes and to sockets: the wire envelope itself. */
export type HubEvent = LiveEvent;

/**
 * An event as a commit built it or the database gave it back: its payload may hold more fields than
 * the contract's (a check-in's seq) and in another order (jsonb keeps its own).
 */
export type StoredEvent = { seq: number; name: LiveEventName; siteId: string | null; employeeId: string | null; payload: object };

// The payload's fields and their order, from the contract in shared/schemas.ts.
const FIELDS: Record<LiveEventName, string[]> = {
  'checkin.recorded': Object.keys(CheckinRecorded.shape),
  'checkin.voided': Object.keys(CheckinVoided.shape),
  'presence.changed': Object.keys(PresenceChange.shape),
  'record.updated': Object.keys(LegacyRecord.shape),
};

/**
 * The one presenter: a stored event as it goes on the wire, the same for a live event and a replayed
 * one, down to the byte (fields of the contract only, in the contract's order).
 */
export function present(e: StoredEvent): HubEvent {
  const from = e.payload as Record<string, unknown>;
  // An optional field the event does not have stays out, as it would on the wire.
  const payload = Object.fromEntries(FIELDS[e.name].flatMap((field) => (from[field] === undefined ? [] : [[field, from[field]]])));
  return { seq: e.seq, name: e.name, siteId: e.siteId, employeeId: e.employeeId, payload } as HubEvent;
}
