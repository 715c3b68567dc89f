import { CheckinInput } from '../../shared/schemas.js';
import { AppError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CheckinService } from '../services/checkins.js';
import { fieldIssues } from '../validate.js';
import type { HubIo } from './server.js';

/** `checkin` over a socket runs exactly the REST check-in: same validation, rules and idempotency. */
export function handleKioskCheckins(io: HubIo, deps: { checkins: CheckinService; logger: Logger }) {
  io.on('connection', (socket) => {
    socket.on('checkin', async (input, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = CheckinInput.safeParse(input);
      if (!parsed.success) {
        ack({ ok: false, error: new ValidationError(fieldIssues(parsed.error)).body() });
        return;
      }
      try {
        const { checkin, created } = await deps.checkins.record(parsed.data);
        ack({ ok: true, data: checkin, created });
      } catch (err) {
        if (err instanceof AppError && err.status < 500) return ack({ ok: false, error: err.body() });
        deps.logger.error({ err }, 'socket check-in failed');
        ack({ ok: false, error: { code: 'internal', message: 'internal server error' } });
      }
    });
  });
}
