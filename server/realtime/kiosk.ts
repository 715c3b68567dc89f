import { CheckinInput, type KioskAck } from '../../shared/schemas.js';
import { whoOf } from '../auth/actor.js';
import { toAppError, ValidationError } from '../errors.js';
import { authorize, policies } from '../policies/index.js';
import type { RepeatLog } from '../logger.js';
import { puncherOf, type CheckinService } from '../services/checkins.js';
import { fieldIssues } from '../validate.js';
import { payloadAndAck } from './args.js';
import type { Admit } from './auth.js';
import type { HubIo, HubSocket } from './server.js';

/** `checkin` over a socket runs exactly the REST check-in: same validation, authorization, rules and idempotency. */
export function handleKioskCheckins(io: HubIo, deps: { checkins: CheckinService; log: RepeatLog; admit: Admit }) {
  // One handler for every socket (`this` is the socket), not a closure each: idle dashboards are many.
  async function onCheckin(this: HubSocket, ...args: unknown[]) {
    // Without an ack the kiosk could never learn the outcome, so nothing is done.
    const { payload, ack } = payloadAndAck<KioskAck>(args);
    if (!ack || !deps.admit(this, ack)) return;
    const parsed = CheckinInput.safeParse(payload);
    if (!parsed.success) {
      ack({ ok: false, error: new ValidationError(fieldIssues(parsed.error)).body() });
      return;
    }
    try {
      const { actor, ip } = this.data;
      authorize(actor, policies.checkins, 'punch');
      const who = whoOf(actor, ip || null, null);
      const { checkin, created } = await deps.checkins.record(parsed.data, puncherOf(actor, who));
      ack({ ok: true, data: checkin, created });
    } catch (err) {
      // The same answer a REST check-in gets: a database that is away is `unavailable`, worth a retry.
      const error = toAppError(err);
      if (error.status >= 500) deps.log(error.status === 503 ? 'warn' : 'error', `socket:${error.code}:${(err as Error)?.message}`, { err }, 'socket check-in failed');
      ack({ ok: false, error: error.body() });
    }
  }

  io.on('connection', (socket) => socket.on('checkin', onCheckin));
}
