import { SubscribeRequest } from '../../shared/schemas.js';
import { AppError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { HubEvent } from '../repositories/events.js';
import type { FeedService } from '../services/feed.js';
import type { PresenceService } from '../services/presence.js';
import { fieldIssues } from '../validate.js';
import { toLive } from './delivery.js';
import { REPLAYING, roomsForFilter } from './rooms.js';
import type { HubIo } from './server.js';
import type { EventStream } from './stream.js';

const REPLAY_PAGE = 500;

/**
 * `subscribe` replaces the socket's filters (none: every event; else the union of its sites and
 * employees). The socket joins its rooms at once, holding live events back; the ack carries a presence
 * snapshot and the seq it is as of; then every matching event after `since` (or after the snapshot)
 * is replayed from PostgreSQL up to what this node has delivered, the held-back events follow, and
 * the socket is live: no hole and no duplicate at the seam.
 */
export function handleSubscriptions(io: HubIo, deps: { feed: FeedService; presence: PresenceService; stream: EventStream; logger: Logger }) {
  const { feed, presence, stream, logger } = deps;

  io.on('connection', (socket) => {
    socket.data.replay = null;
    let generation = 0;

    const reset = () => {
      generation++;
      socket.data.replay = null;
      for (const room of socket.rooms) if (room !== socket.id) socket.leave(room);
    };

    socket.on('subscribe', async (request, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = SubscribeRequest.safeParse(request ?? {});
      if (!parsed.success) {
        ack({ ok: false, error: new ValidationError(fieldIssues(parsed.error), 'subscribe request is invalid').body() });
        return;
      }
      const { sites, employees, since } = parsed.data;
      reset();
      const mine = generation;
      // A later subscribe on this socket replaced this one before it was answered: it still gets an answer.
      const superseded = () => ack({ ok: false, error: { code: 'superseded', message: 'a later subscribe on this socket replaced this one' } });
      const replay: { queue: HubEvent[] } = { queue: [] };
      socket.data.replay = replay;
      socket.join([REPLAYING, ...roomsForFilter({ sites, employees })]);
      const upTo = stream.delivered;
      try {
        const snapshot = await presence.snapshot(sites ?? []);
        if (mine !== generation) return superseded();
        const from = since ?? Math.min(snapshot.seq, upTo);
        // seq: without `since`, what the snapshot is as of (events after it follow); with it, this node's head.
        ack({ ok: true, seq: since === undefined ? from : upTo, presence: snapshot.presence });
        for (let after = from; after < upTo; ) {
          const page = await feed.matching({ after, upTo, sites, employees, limit: REPLAY_PAGE });
          if (mine !== generation) return;
          if (page.length) socket.emit('events', page.map(toLive));
          if (page.length < REPLAY_PAGE) break;
          after = page.at(-1)!.seq;
        }
        // Synchronously: send what was held back, then go live.
        if (replay.queue.length) socket.emit('events', replay.queue.map(toLive));
        socket.data.replay = null;
        socket.leave(REPLAYING);
      } catch (err) {
        if (mine !== generation) return superseded();
        reset();
        if (err instanceof AppError) return ack({ ok: false, error: err.body() });
        logger.error({ err }, 'subscribe failed');
        ack({ ok: false, error: { code: 'unavailable', message: 'could not subscribe; try again' } });
      }
    });

    socket.on('unsubscribe', (ack) => {
      reset();
      if (typeof ack === 'function') ack({ ok: true });
    });
  });
}
