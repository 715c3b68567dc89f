import { reaches } from '../auth/actor.js';
import type { HubEvent } from '../events/event.js';
import type { Recorder } from '../metrics/index.js';
import { REPLAYING, roomsFor } from './rooms.js';
import type { HubIo } from './server.js';

/** Events to sockets that take them the same way (a room, or one socket's own): one `events` message, or a message each. */
export function send(to: ReturnType<HubIo['local']['to']>, events: HubEvent[], packed: boolean): void {
  if (packed) to.emit('events', events);
  else for (const e of events) to.emit(e.name, e as never);
}

/**
 * Hand a run of events (in seq order, from the node's event stream) to this node's matching sockets,
 * each event only to sockets whose actor may see its site. Sockets due the same events (the usual
 * case: one site each) that take them the same way share one encoded broadcast; a packed subscriber
 * gets one `events` message, since frames, not bytes, are what a broadcast costs. Sockets still
 * receiving a replay queue theirs, to be sent right after it. Each check-in event's lag since its
 * transaction (recordedAt, on the committing node's database clock) is measured here, as it goes out.
 */
export function createDelivery(io: HubIo, metrics: Pick<Recorder, 'emitted' | 'delivered'>) {
  const nsp = io.of('/');
  return (events: HubEvent[]) => {
    const now = Date.now();
    // Never below 0: the database's clock may run a little ahead of this node's.
    for (const e of events) if (e.name === 'checkin.recorded') metrics.emitted(Math.max(0, now - Date.parse(e.payload.recordedAt)) / 1000);
    const members = nsp.adapter.rooms;
    const replaying = members.get(REPLAYING);
    const due = new Map<string, { key: string; events: HubEvent[] }>();
    for (const e of events) {
      const reached = new Set<string>();
      for (const room of roomsFor(e.siteId, e.employeeId)) for (const id of members.get(room) ?? []) reached.add(id);
      for (const id of reached) {
        // An employee's room carries their events at every site: each socket gets those in its reach.
        const socket = nsp.sockets.get(id);
        if (!socket || !reaches(socket.data.actor, e.siteId) || e.seq <= socket.data.heldThrough) continue;
        if (replaying?.has(id)) {
          socket.data.replay?.queue.push(e);
          continue;
        }
        const d = due.get(id);
        if (d) {
          d.key += `,${e.seq}`;
          d.events.push(e);
        } else due.set(id, { key: `${socket.data.packed ? 'p' : 'n'}${e.seq}`, events: [e] });
      }
    }
    const shared = new Map<string, { events: HubEvent[]; ids: string[] }>();
    for (const [id, d] of due) {
      const group = shared.get(d.key);
      if (group) group.ids.push(id);
      else shared.set(d.key, { events: d.events, ids: [id] });
    }
    for (const [key, group] of shared) {
      send(io.local.to(group.ids), group.events, key.startsWith('p'));
      metrics.delivered(group.events.length * group.ids.length, 'live');
    }
  };
}
