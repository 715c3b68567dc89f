import type { HubEvent } from '../repositories/events.js';
import { REPLAYING, roomsFor } from './rooms.js';
import type { HubIo } from './server.js';

/**
 * Hand one event (already in seq order, see stream.ts) to this node's matching sockets. Live sockets
 * get one encoded broadcast; sockets still receiving a replay queue it, to send right after.
 */
export function createDelivery(io: HubIo) {
  const nsp = io.of('/');
  return (e: HubEvent) => {
    const rooms = roomsFor(e.siteId, e.employeeId);
    io.local.to(rooms).except(REPLAYING).emit(e.kind, e.data as never);
    const replaying = nsp.adapter.rooms.get(REPLAYING);
    if (!replaying?.size) return;
    for (const id of replaying) {
      const socket = nsp.sockets.get(id);
      if (socket?.data.replay && rooms.some((r) => socket.rooms.has(r))) socket.data.replay.queue.push(e);
    }
  };
}
