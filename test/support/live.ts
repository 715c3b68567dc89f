import { createDashboardClient, type DashboardClient } from '../../shared/client.js';
import type { LiveEvent } from '../../shared/events.js';
import type { ErrorBody, SubscribeAck } from '../../shared/schemas.js';

export type Recorder = {
  client: DashboardClient;
  events: LiveEvent[];
  acks: Array<Extract<SubscribeAck, { ok: true }>>;
  errors: ErrorBody[];
  seqs(): number[];
};

/** A dashboard built on the shared client library that records everything it is handed; the hub's admin unless given a token. */
export function recordDashboard(
  hub: { url: string; adminToken: string },
  filter: { sites?: string[]; employees?: string[]; since?: number } = {},
  token = hub.adminToken,
): Recorder {
  const events: LiveEvent[] = [];
  const acks: Recorder['acks'] = [];
  const errors: ErrorBody[] = [];
  const client = createDashboardClient({
    url: hub.url,
    token,
    ...filter,
    onEvent: (e) => events.push(e),
    onSubscribed: (ack) => acks.push(ack),
    onError: (error) => errors.push(error),
    socket: { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 },
  });
  return { client, events, acks, errors, seqs: () => events.map((e) => e.seq) };
}

export async function until(check: () => boolean, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Asks until `check` is true, within `ms`: for facts only a request can show, such as a node's cache letting go. */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
