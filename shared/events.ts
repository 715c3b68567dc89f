import type { CheckinInput, CheckinRecorded, CheckinVoided, KioskAck, LegacyRecord, PresenceChange, SubscribeAck, SubscribeRequest } from './schemas.js';

/** The live events and their payloads (shared/schemas.ts). */
export interface LiveEventPayloads {
  'checkin.recorded': CheckinRecorded;
  'checkin.voided': CheckinVoided;
  'presence.changed': PresenceChange;
  'record.updated': LegacyRecord;
}

export type LiveEventName = keyof LiveEventPayloads;

// A key per event: one left out here fails to compile.
const NAMED: Record<LiveEventName, true> = { 'checkin.recorded': true, 'checkin.voided': true, 'presence.changed': true, 'record.updated': true };
/** Every event name, for filters (webhooks) that name them. */
export const LIVE_EVENT_NAMES = Object.keys(NAMED) as [LiveEventName, ...LiveEventName[]];

/**
 * One committed event, the same whether it arrives live or is replayed: its global `seq` (gapless, in
 * commit order; clients resume after the last one they have), its name, the site and employee it is
 * about (what subscriptions filter on), and its payload, which never repeats the seq.
 */
export type LiveEvent = {
  [K in LiveEventName]: { seq: number; name: K; siteId: string | null; employeeId: string | null; payload: LiveEventPayloads[K] };
}[LiveEventName];

/** The event of one name, as its named message carries it. */
export type LiveEventOf<K extends LiveEventName> = Extract<LiveEvent, { name: K }>;

/**
 * What a subscribed socket receives, in seq order. By default each event is a message of its own
 * name, as Socket.IO clients expect. A subscriber that asks for `packed` gets instead one `events`
 * message with every event it is due from one commit (or one replay page): a check-in and the
 * presence change it causes, or a whole offline batch, cost it one WebSocket frame instead of one each.
 */
export interface ServerToClientEvents {
  events: (batch: LiveEvent[]) => void;
  'checkin.recorded': (event: LiveEventOf<'checkin.recorded'>) => void;
  'checkin.voided': (event: LiveEventOf<'checkin.voided'>) => void;
  'presence.changed': (event: LiveEventOf<'presence.changed'>) => void;
  'record.updated': (event: LiveEventOf<'record.updated'>) => void;
}

/**
 * A subscribe's `since` is older than the events the hub keeps (EVENT_RETENTION_DAYS): what happened
 * after it cannot be replayed. Subscribe again without `since` and replace what you hold with that
 * ack's snapshot; events after its seq follow. `details`: `{since, prunedThrough}`.
 */
export const SINCE_PRUNED = 'since_pruned';

/** Socket.IO event maps shared by the hub and every client: one contract, typed on both ends. */
export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
  unsubscribe: (ack?: (response: { ok: true }) => void) => void;
  /** A kiosk's punch: the same rules and idempotency as POST /api/v1/checkins. */
  checkin: (input: CheckinInput, ack: (response: KioskAck) => void) => void;
}
