import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type CheckinOutcome = 'accepted' | 'duplicate' | 'rejected';

/**
 * What the parts of a node report, so that none of them needs prom-client: each is handed this (or
 * the few methods of it that it uses) when it is wired.
 */
export type Recorder = {
  /** A REST request answered: its route pattern ('unmatched' when no route took it) and status. */
  request(method: string, route: string, status: number, seconds: number): void;
  /** A check-in the check-in service judged; a rejection with its error code. */
  checkin(outcome: CheckinOutcome, code?: string): void;
  /** One group commit of the ledger: how many items it carried and how long it took. */
  groupCommit(items: number, seconds: number): void;
  /** A check-in event handed to this node's sockets, this long after its transaction stamped it. */
  emitted(lagSeconds: number): void;
  /** Events sent to sockets (one per socket it reached), live or replayed from PostgreSQL. */
  delivered(events: number, path: 'live' | 'replay'): void;
  /** A page of a subscription's replay read from PostgreSQL. */
  replayPage(): void;
  /** A cached read: `kind` is the key's kind (presence, record). */
  cache(kind: string, result: 'hit' | 'miss'): void;
};

/** What a node's gauges read when they are scraped. */
export type GaugeSources = {
  sockets(): { connected: number; subscribed: number };
  /** Server-Sent Events streams following the event stream. */
  eventStreams(): number;
  pool(): { inUse: number; waiting: number };
  /** Whether Redis answers; null when the hub runs without Redis. */
  redisUp: (() => Promise<boolean>) | null;
};

export type Metrics = { registry: Registry; recorder: Recorder };

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const GROUP_ITEMS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/**
 * One node's metrics, in a registry of its own (never prom-client's global one: tests run many nodes
 * in one process), with Node's process metrics. Names are listed in README.md (Metrics). A cluster's
 * workers are summed by the primary (./cluster.ts); each metric says how (`aggregator`).
 */
export function createMetrics(sources: GaugeSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const requests = new Histogram({
    name: 'hub_http_request_duration_seconds',
    help: 'REST requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: SECONDS,
    registers,
  });
  const checkins = new Counter({ name: 'hub_checkins_total', help: 'Check-ins judged, by outcome and, when rejected, error code', labelNames: ['outcome', 'code'], registers });
  const groupItems = new Histogram({ name: 'hub_group_commit_items', help: 'Items (check-ins, older-API records) per group commit', buckets: GROUP_ITEMS, registers });
  const groupSeconds = new Histogram({ name: 'hub_group_commit_duration_seconds', help: 'Duration of each group commit', buckets: SECONDS, registers });
  const lag = new Histogram({
    name: 'hub_commit_to_emit_seconds',
    help: "From a check-in's transaction (its recordedAt) to its event being handed to this node's sockets",
    buckets: SECONDS,
    registers,
  });
  const delivered = new Counter({ name: 'hub_events_delivered_total', help: 'Events sent to sockets, one per socket reached; live or replayed', labelNames: ['path'], registers });
  const replayPages = new Counter({ name: 'hub_replay_pages_total', help: 'Pages of subscription replays read from PostgreSQL', registers });
  const cache = new Counter({ name: 'hub_cache_lookups_total', help: 'Cached reads by key kind and result (hit or miss)', labelNames: ['kind', 'result'], registers });

  new Gauge({
    name: 'hub_sockets_connected',
    help: 'Socket.IO sockets connected',
    registers,
    collect() {
      this.set(sources.sockets().connected);
    },
  });
  new Gauge({
    name: 'hub_sockets_subscribed',
    help: 'Connected sockets with a live subscription',
    registers,
    collect() {
      this.set(sources.sockets().subscribed);
    },
  });
  new Gauge({
    name: 'hub_event_streams_open',
    help: 'Server-Sent Events streams following the event stream',
    registers,
    collect() {
      this.set(sources.eventStreams());
    },
  });
  new Gauge({
    name: 'hub_db_pool_in_use',
    help: 'PostgreSQL connections lent out of the pool',
    registers,
    collect() {
      this.set(sources.pool().inUse);
    },
  });
  new Gauge({
    name: 'hub_db_pool_waiting',
    help: 'Requests waiting for a pooled PostgreSQL connection',
    registers,
    collect() {
      this.set(sources.pool().waiting);
    },
  });
  const { redisUp } = sources;
  if (redisUp) {
    new Gauge({
      name: 'hub_redis_up',
      help: 'Whether Redis answers (1) or not (0); across workers, the lowest',
      // One worker cut off from Redis is a Redis problem: the cluster reports 0, not a sum.
      aggregator: 'min',
      registers,
      async collect() {
        this.set((await redisUp()) ? 1 : 0);
      },
    });
  }

  return {
    registry,
    recorder: {
      request: (method, route, status, seconds) => requests.observe({ method, route, status: String(status) }, seconds),
      checkin: (outcome, code) => checkins.inc(code === undefined ? { outcome } : { outcome, code }),
      groupCommit(items, seconds) {
        groupItems.observe(items);
        groupSeconds.observe(seconds);
      },
      emitted: (seconds) => lag.observe(seconds),
      delivered(events, path) {
        if (events) delivered.inc({ path }, events);
      },
      replayPage: () => replayPages.inc(),
      cache: (kind, result) => cache.inc({ kind, result }),
    },
  };
}
