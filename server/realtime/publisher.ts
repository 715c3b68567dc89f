import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { Checkin, RecordUpdated } from '../../shared/schemas.js';
import type { HubEvent } from '../repositories/events.js';
import { roomsFor } from './rooms.js';

export type Publisher = { publish(events: HubEvent[]): void };

/** Emits committed events to their rooms; with the Redis adapter the emit reaches every node. Call only after commit. */
export function createPublisher(io: Server<ClientToServerEvents, ServerToClientEvents>): Publisher {
  return {
    publish(events) {
      for (const e of events) {
        const to = io.to(roomsFor(e.siteId, e.employeeId));
        if (e.kind === 'checkin.recorded') to.emit('checkin.recorded', e.data as Checkin);
        else to.emit('record.updated', e.data as RecordUpdated);
      }
    },
  };
}
