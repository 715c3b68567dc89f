import { reaches } from '../auth/actor.js';
import type { HubEvent } from '../events/event.js';
import { REPLAYING, roomsFor } from './rooms.js';
import type { HubIo } from './server.js';

/**
 * Hand a run of events (in seq order, from the node's event stream) to this node's matching sockets: one `events`
 * message per socket, since frames, not bytes, are what a broadcast costs. Sockets due the same
 * events (the usual case: one site each) share one encoded broadcast. Sockets still receiving a replay
 * queue theirs, to be sent right after it.
 */
export function createDelivery(io: HubIo) {
  const nsp = io.of('/');
  return (events: HubEvent[]) => {
    const members = nsp.adapter.rooms;
    const replaying = members.get(REPLAYING);
    const due = new Map<string, { key: string; events: HubEvent[] }>();
    for (const e of events) {
      const reached = new Set<string>();
      for (const room of roomsFor(e.siteId, e.employeeId)) for (const id of members.get(room) ?? []) reached.add(id);
      for (const id of reached) {
        // An employee's room carries their events at every site: each socket gets those in its reach.
        const socket = nsp.sockets.get(id);
        if (!socket || !reaches(socket.data.actor, e.siteId)) continue;
        if (replaying?.has(id)) {
          socket.data.replay?.queue.push(e);
          continue;
        }
        const d = due.get(id);
        if (d) {
          d.key += `,${e.seq}`;
          d.events.push(e);
        } else due.set(id, { key: `${e.seq}`, events: [e] });
      }
    }
    const shared = new Map<string, { events: HubEvent[]; ids: string[] }>();
    for (const [id, d] of due) {
      const group = shared.get(d.key);
      if (group) group.ids.push(id);
      else shared.set(d.key, { events: d.events, ids: [id] });
    }
    for (const group of shared.values()) io.local.to(group.ids).emit('events', group.events);
  };
}
