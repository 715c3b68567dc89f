import { randomUUID } from 'node:crypto';
import type { CreatedWebhook, DeliveryQuery, PingResult, RedeliverInput, Webhook, WebhookCreate, WebhookDelivery, WebhookUpdate } from '../../../shared/webhooks.js';
import type { Who } from '../../auth/actor.js';
import { randomSecret } from '../../crypto.js';
import { inTransaction, type Knex } from '../../db/knex.js';
import { AppError, NotFoundError } from '../../errors.js';
import { SINCE_PRUNED } from '../../../shared/events.js';
import { appendAudit } from '../../repositories/audit.js';
import { readPrunedThrough } from '../../repositories/events.js';
import { deleteWebhook, findEndpoint, findWebhook, insertDelivery, insertWebhook, listDeliveries, listWebhooks, rewindWebhook, updateWebhook } from '../../repositories/webhooks.js';
import { requireSites } from '../sitesExist.js';
import { send } from './send.js';

export type WebhookService = ReturnType<typeof createWebhookService>;

const notFound = (id: string) => new NotFoundError('webhook_not_found', `no webhook with id ${id}`);

/** Webhook endpoints, kept by admins; the dispatcher (./dispatcher.ts) delivers to them. Every change is audited, never with the secret. */
export function createWebhookService(deps: { db: Knex; timeoutMs: number; wake: () => void }) {
  const { db } = deps;
  const found = <T>(value: T | undefined, id: string): T => {
    if (value === undefined) throw notFound(id);
    return value;
  };
  const audited = (input: object) => Object.fromEntries(Object.entries(input).filter(([key]) => key !== 'secret'));

  return {
    /** Starts after the current head: the endpoint is sent what is committed from now on. */
    async create(input: WebhookCreate, who: Who): Promise<CreatedWebhook> {
      const secret = input.secret ?? `whsec_${randomSecret()}`;
      const webhook = await inTransaction(db, async (trx) => {
        await requireSites(trx, input.sites ?? []);
        const webhook = await insertWebhook(trx, { id: randomUUID(), url: input.url, events: input.events ?? [], sites: input.sites ?? [], secret, createdBy: who.actorId });
        await appendAudit(trx, [{ who, action: 'create', entity: 'webhook', entityId: webhook.id, changes: audited(input) }]);
        return webhook;
      });
      return { ...webhook, secret };
    },
    list: () => listWebhooks(db),
    get: async (id: string): Promise<Webhook> => found(await findWebhook(db, id), id),
    async update(id: string, patch: WebhookUpdate, who: Who): Promise<Webhook> {
      const webhook = await inTransaction(db, async (trx) => {
        await requireSites(trx, patch.sites ?? []);
        const webhook = found(await updateWebhook(trx, id, patch), id);
        await appendAudit(trx, [{ who, action: 'update', entity: 'webhook', entityId: id, changes: audited(patch) }]);
        return webhook;
      });
      if (patch.active) deps.wake();
      return webhook;
    },
    remove: (id: string, who: Who): Promise<Webhook> =>
      inTransaction(db, async (trx) => {
        const webhook = found(await deleteWebhook(trx, id), id);
        await appendAudit(trx, [{ who, action: 'delete', entity: 'webhook', entityId: id }]);
        return webhook;
      }),
    /** Send a signed `ping` now, outside the event order, and say how the receiver answered (recorded with the deliveries). */
    async ping(id: string): Promise<PingResult> {
      const endpoint = found(await findEndpoint(db, id), id);
      const body = JSON.stringify({ name: 'ping', webhookId: id, at: new Date().toISOString() });
      const outcome = await send(endpoint, { event: 'ping', delivery: `ping-${randomUUID()}`, body }, { timeoutMs: deps.timeoutMs });
      await insertDelivery(db, { webhookId: id, seq: null, event: 'ping', attempt: 1, ...outcome });
      return outcome;
    },
    async deliveries(id: string, q: DeliveryQuery): Promise<{ data: WebhookDelivery[]; next: string | null }> {
      found(await findWebhook(db, id), id);
      return listDeliveries(db, id, q);
    },
    /** Every matching event from `fromSeq` on is sent again, in order; refused if some of them were pruned. */
    async redeliver(id: string, input: RedeliverInput, who: Who): Promise<Webhook> {
      const webhook = await inTransaction(db, async (trx) => {
        const prunedThrough = await readPrunedThrough(trx);
        if (input.fromSeq <= prunedThrough) {
          throw new AppError(410, SINCE_PRUNED, `events through seq ${prunedThrough} are no longer kept: redeliver from ${prunedThrough + 1} or later`, { fromSeq: input.fromSeq, prunedThrough });
        }
        const webhook = found(await rewindWebhook(trx, id, input.fromSeq), id);
        await appendAudit(trx, [{ who, action: 'redeliver', entity: 'webhook', entityId: id, changes: input }]);
        return webhook;
      });
      deps.wake();
      return webhook;
    },
  };
}
