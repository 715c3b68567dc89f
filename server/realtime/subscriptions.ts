import { SubscribeRequest } from '../../shared/schemas.js';
import type { Logger } from '../logger.js';
import type { FeedService } from '../services/feed.js';
import { fieldIssues } from '../validate.js';
import { rooms } from './rooms.js';
import type { HubIo } from './server.js';

/** `subscribe` replaces the socket's filters: no filter means every event, else the union of sites and employees. */
export function handleSubscriptions(io: HubIo, deps: { feed: FeedService; logger: Logger }) {
  io.on('connection', (socket) => {
    socket.on('subscribe', async (request, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = SubscribeRequest.safeParse(request ?? {});
      if (!parsed.success) {
        ack({ ok: false, error: { code: 'validation_failed', message: 'subscribe request is invalid', details: fieldIssues(parsed.error) } });
        return;
      }
      const { sites, employees } = parsed.data;
      for (const room of socket.rooms) if (room !== socket.id) socket.leave(room);
      const targets = sites === undefined && employees === undefined ? [rooms.all] : [...(sites ?? []).map(rooms.site), ...(employees ?? []).map(rooms.employee)];
      socket.join(targets);
      try {
        ack({ ok: true, seq: await deps.feed.head() });
      } catch (err) {
        deps.logger.error({ err }, 'subscribe failed');
        ack({ ok: false, error: { code: 'unavailable', message: 'could not read the event head; try again' } });
      }
    });
  });
}
