import type { Checkin, CheckinInput, KioskAck, PresenceChanged, RecordUpdated, SubscribeAck, SubscribeRequest } from './schemas.js';

/** Every live event carries its global seq: clients resume after the last one they have. */
export interface ServerToClientEvents {
  'checkin.recorded': (checkin: Checkin) => void;
  'presence.changed': (change: PresenceChanged) => void;
  'record.updated': (record: RecordUpdated) => void;
}

export type LiveEventName = keyof ServerToClientEvents;
export type LiveEvent = { [K in LiveEventName]: { name: K; payload: Parameters<ServerToClientEvents[K]>[0] } }[LiveEventName];

/** Socket.IO event maps shared by the hub and every client: one contract, typed on both ends. */
export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
  unsubscribe: (ack?: (response: { ok: true }) => void) => void;
  /** A kiosk's punch: the same rules and idempotency as POST /api/v1/checkins. */
  checkin: (input: CheckinInput, ack: (response: KioskAck) => void) => void;
}

export const LIVE_EVENTS: readonly LiveEventName[] = ['checkin.recorded', 'presence.changed', 'record.updated'];
