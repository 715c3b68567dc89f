import type { Checkin, RecordUpdated, SubscribeAck, SubscribeRequest } from './schemas.js';

/** Socket.IO event maps shared by the hub and every client: one contract, typed on both ends. */
export interface ServerToClientEvents {
  'checkin.recorded': (checkin: Checkin) => void;
  'record.updated': (record: RecordUpdated) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
}
