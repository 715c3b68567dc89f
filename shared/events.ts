import type { Checkin, CheckinInput, KioskAck, PresenceChanged, RecordUpdated, SubscribeAck, SubscribeRequest } from './schemas.js';

/** The live events and their payloads; every payload carries its global seq, so clients resume after the last one they have. */
export interface LiveEventPayloads {
  'checkin.recorded': Checkin;
  'presence.changed': PresenceChanged;
  'record.updated': RecordUpdated;
}

export type LiveEventName = keyof LiveEventPayloads;
export type LiveEvent = { [K in LiveEventName]: { name: K; payload: LiveEventPayloads[K] } }[LiveEventName];

/**
 * One `events` message carries every event a socket is due from one commit (or one replay page), in
 * seq order: a check-in and the presence change it causes, or a whole offline batch, cost the socket
 * one WebSocket frame instead of one each.
 */
export interface ServerToClientEvents {
  events: (batch: LiveEvent[]) => void;
}

/** Socket.IO event maps shared by the hub and every client: one contract, typed on both ends. */
export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
  unsubscribe: (ack?: (response: { ok: true }) => void) => void;
  /** A kiosk's punch: the same rules and idempotency as POST /api/v1/checkins. */
  checkin: (input: CheckinInput, ack: (response: KioskAck) => void) => void;
}
