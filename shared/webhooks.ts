import { z } from 'zod';
import { LIVE_EVENT_NAMES } from './events.js';
import { Id, NON_EMPTY } from './schemas.js';

/** A name the hub's HTTP client may call: HTTPS anywhere, or plain HTTP on this machine (tests, a local relay). */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
// zod's url() accepts some strings the WHATWG parser (what the hub sends with) refuses: each check parses for itself.
const parsed = (v: string) => (URL.canParse(v) ? new URL(v) : null);
export const WebhookUrl = z
  .url()
  .max(2000)
  .refine((v) => {
    const u = parsed(v);
    return u !== null && (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname)));
  }, 'must be an https:// URL (http:// only on localhost)')
  .refine((v) => !parsed(v)?.username && !parsed(v)?.password, 'must not carry credentials; the signature proves the sender');

/** Signs every delivery; at least 16 characters, shown only when the hub made it up. */
const Secret = z.string().min(16).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces');

const EventNames = z.array(z.enum(LIVE_EVENT_NAMES)).max(LIVE_EVENT_NAMES.length);
const Sites = z.array(Id).max(1000);

/** `events` and `sites` empty (or left out): every event, at every site and none. */
export const WebhookCreate = z.strictObject({
  url: WebhookUrl,
  events: EventNames.optional(),
  sites: Sites.optional(),
  secret: Secret.optional(),
});
export type WebhookCreate = z.infer<typeof WebhookCreate>;

/** `active: true` re-enables a disabled endpoint: it resumes after the last event its receiver acknowledged. */
export const WebhookUpdate = z
  .strictObject({ url: WebhookUrl.optional(), events: EventNames.optional(), sites: Sites.optional(), secret: Secret.optional(), active: z.boolean().optional() })
  .refine(...NON_EMPTY);
export type WebhookUpdate = z.infer<typeof WebhookUpdate>;

/** An endpoint as listed: never its secret. `deliveredThrough`: the last seq acknowledged (or skipped as not matching). */
export const Webhook = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()),
  sites: z.array(z.string()),
  active: z.boolean(),
  deliveredThrough: z.number().int(),
  attempts: z.number().int(),
  nextAttemptAt: z.string(),
  failingSince: z.string().nullable(),
  lastError: z.string().nullable(),
  disabledAt: z.string().nullable(),
  disabledReason: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Webhook = z.infer<typeof Webhook>;

/** The answer to a create: the secret, the only time it is shown. */
export const CreatedWebhook = Webhook.extend({ secret: z.string() });
export type CreatedWebhook = z.infer<typeof CreatedWebhook>;

export const WebhookParams = z.object({ id: z.uuid() });

/** One attempt to deliver an event (or a ping: no seq) and how the receiver answered. */
export const WebhookDelivery = z.object({
  id: z.number().int(),
  seq: z.number().int().nullable(),
  event: z.string(),
  attempt: z.number().int(),
  ok: z.boolean(),
  status: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  at: z.string(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const DeliveryQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type DeliveryQuery = z.infer<typeof DeliveryQuery>;

/** Send again every matching event from this seq on (it and everything after it, in order). */
export const RedeliverInput = z.strictObject({ fromSeq: z.number().int().min(1) });
export type RedeliverInput = z.infer<typeof RedeliverInput>;

export const PingResult = z.object({ ok: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number().int() });
export type PingResult = z.infer<typeof PingResult>;

/**
 * How a receiver checks a delivery: `X-Hub-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
 * HMAC-SHA256 with the endpoint's secret over `<t>.<raw body>`. Reject a signature that does not match,
 * or a `t` far from your clock (a replay). `X-Hub-Delivery` is the event's seq: the same seq sent
 * twice (after a crash before the acknowledgement was recorded) is the same event.
 */
export const SIGNATURE_HEADER = 'x-hub-signature';
export const DELIVERY_HEADER = 'x-hub-delivery';
export const EVENT_HEADER = 'x-hub-event';
