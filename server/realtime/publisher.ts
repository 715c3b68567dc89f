import type { HubEvent } from '../repositories/events.js';
import type { HubIo } from './server.js';
import type { EventStream } from './stream.js';

export type Publisher = { publish(events: HubEvent[]): void };

/**
 * Announce committed events: to this node's stream, and to the other nodes over the Redis adapter.
 * Call only after commit. Losing an announcement loses nothing: streams fill holes from PostgreSQL.
 */
export function createPublisher(
  io: HubIo,
  deps: {
    stream: EventStream;
    /** Whether other nodes can be told now (Redis connected); when not, they catch up from PostgreSQL. */
    canAnnounce: () => boolean;
    faults?: { dropPublish?: () => boolean };
  },
): Publisher {
  return {
    publish(events) {
      if (!events.length || deps.faults?.dropPublish?.()) return;
      deps.stream.offer(events);
      if (deps.canAnnounce()) io.serverSideEmit('hub:events', events);
    },
  };
}
