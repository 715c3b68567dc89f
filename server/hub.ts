import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { createCache } from './cache/index.js';
import { RedisStore } from './cache/redisStore.js';
import { MemoryStore, NoStore } from './cache/store.js';
import type { Config } from './config.js';
import { poolStats, type Knex } from './db/knex.js';
import { createPublisher, type Faults } from './events/publisher.js';
import { createEventStream, type EventStream } from './events/stream.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createJwtVerifier, jwtSettings } from './auth/jwt.js';
import { createRevocations } from './auth/revocations.js';
import { createHttpServer } from './http/server.js';
import { createSse } from './http/sse.js';
import { limiterFactory } from './limits.js';
import { createRepeatLog, type Logger } from './logger.js';
import { clusterScrape } from './metrics/cluster.js';
import { createMetrics } from './metrics/index.js';
import { authenticateSockets } from './realtime/auth.js';
import { createDelivery } from './realtime/delivery.js';
import { handleKioskCheckins } from './realtime/kiosk.js';
import { announcer, attachRealtime, createRealtime, type HubIo, type InterServerEvents } from './realtime/server.js';
import { socketCounts } from './realtime/rooms.js';
import { handleSubscriptions } from './realtime/subscriptions.js';
import type { RedisClients } from './redis.js';
import { createFollowService } from './services/follow.js';
import { createServices, type Services } from './services/index.js';
import { createRetention } from './services/retention.js';

export type { Faults };

export type Hub = { url: string; port: number; server: http.Server; io: HubIo; services: Services; stream: EventStream; close(): Promise<void> };

/**
 * One hub node: HTTP + Socket.IO on one port, over a database and (optionally) Redis it is handed.
 * Wired once, in dependency order: services publish what they commit; the node's event stream takes
 * this node's publishes and the other nodes' announcements, and hands every event, in seq order, to
 * the ledger (what it knows of others' check-ins) and to the sockets.
 */
export async function startHub(deps: {
  config: Config;
  logger: Logger;
  db: Knex;
  redis: RedisClients | null;
  /** A worker of a cluster (WORKERS > 1): connections come from the primary, and without Redis the workers link through it. */
  clustered?: boolean;
  faults?: Faults;
  /** What time it is for rules judged at read time: who is expected and not in (tests set it). */
  clock?: () => Date;
}): Promise<Hub> {
  const { config, logger, db, redis } = deps;
  const clustered = deps.clustered ?? false;
  const { server, connections } = createHttpServer(config);
  const log = createRepeatLog(logger);
  const io = createRealtime({ logger, redis, clustered, prefix: config.REDIS_PREFIX, corsOrigins: config.CORS_ORIGINS, maxPayloadBytes: config.SOCKET_MAX_PAYLOAD_BYTES });
  // The other nodes hear of commits and revocations over Redis; a cluster's workers, through the primary.
  const announce = <E extends 'hub:events' | 'hub:revoked'>(event: E) =>
    redis ? announcer(io, redis.pub, event) : clustered ? (...args: Parameters<InterServerEvents[E]>) => void io.serverSideEmit(event, ...args) : undefined;
  const publisher = createPublisher({ announce: announce('hub:events'), faults: deps.faults });
  const revocations = createRevocations({ announce: announce('hub:revoked') });
  const store = redis ? new RedisStore(redis.client, config.REDIS_PREFIX) : clustered ? new NoStore() : new MemoryStore();
  // The node's own metrics; a cluster's worker answers /metrics with the sum over all workers.
  const metrics = createMetrics({
    sockets: () => socketCounts(io),
    eventStreams: () => follow.followers(),
    pool: () => poolStats(db),
    redisUp: redis ? () => store.ping().catch(() => false) : null,
  });
  const scrape = clustered ? clusterScrape(metrics.registry) : () => metrics.registry.metrics();
  const cache = createCache(store, config.CACHE_TTL_SECONDS, log, metrics.recorder);
  const limiter = limiterFactory({ redis: redis?.client ?? null, prefix: config.REDIS_PREFIX, cluster: clustered });
  const services = createServices({ config, db, cache, publisher, revocations, limiter, redisEnabled: redis !== null, metrics: metrics.recorder, log, clock: deps.clock });
  const jwt = jwtSettings(config);
  const authenticator = createAuthenticator({
    credentials: services.credentials,
    jwt: jwt && createJwtVerifier(jwt),
    cacheMs: config.AUTH_CACHE_SECONDS * 1000,
    revocations,
    enabled: config.AUTH_ENABLED,
  });
  io.on('hub:revoked', revocations.received);

  const stream = createEventStream({ readAfter: services.feed.after, readHead: services.feed.head, logger });
  publisher.onPublish(stream.offer);
  io.on('hub:events', stream.offer);
  redis?.sub.on('ready', () => void stream.catchUp());
  stream.subscribe(services.ledger.observe);
  stream.subscribe(createDelivery(io, metrics.recorder));
  stream.subscribe(services.webhookDispatch.observe);
  const follow = createFollowService({ db, feed: services.feed, stream, metrics: metrics.recorder });
  await stream.start();
  // Old events are pruned in the background (every node runs it; one prunes at a time).
  const retention = createRetention({
    db,
    logger,
    days: config.EVENT_RETENTION_DAYS,
    intervalMs: config.EVENT_RETENTION_INTERVAL_SECONDS * 1000,
    batchSize: config.EVENT_RETENTION_BATCH,
  });

  const sockets = authenticateSockets(io, {
    authenticator,
    corsOrigins: config.CORS_ORIGINS,
    trustProxy: config.TRUST_PROXY,
    revocations,
    log,
    limits: { perToken: config.SOCKETS_PER_TOKEN, perIp: config.SOCKETS_PER_IP, eventsPerSecond: config.SOCKET_EVENTS_PER_SECOND, recheckMs: config.AUTH_CACHE_SECONDS * 1000 },
  });
  const sse = createSse({
    authenticator,
    revocations,
    log,
    limits: { perCredential: config.SSE_STREAMS_PER_TOKEN, heartbeatMs: config.SSE_HEARTBEAT_MS, maxBufferedBytes: config.SSE_MAX_BUFFERED_BYTES, recheckMs: config.AUTH_CACHE_SECONDS * 1000 },
  });
  handleSubscriptions(io, { feed: services.feed, presence: services.presence, stream, log, metrics: metrics.recorder, admit: sockets.admit });
  handleKioskCheckins(io, { checkins: services.checkins, log, admit: sockets.admit });
  const appMetrics = { recorder: metrics.recorder, scrape, contentType: metrics.registry.contentType };
  server.on('request', createApp({ config, logger, log, services, authenticator, limiter, events: { follow, sse }, metrics: appMetrics }).callback());
  attachRealtime(io, server);

  // A cluster's worker does not listen: the primary hands it connections (server/boot/cluster.ts).
  if (!clustered) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => resolve());
    });
  }
  retention.start();
  services.webhookDispatch.start();
  const port = clustered ? config.PORT : (server.address() as AddressInfo).port;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;

  return {
    url: `http://${host}:${port}`,
    port,
    server,
    io,
    services,
    stream,
    /**
     * Stop taking work, settle the writes already taken, then let go of event streams, sockets and
     * connections: a connection busy with a request gets up to 5 s to answer it.
     */
    async close() {
      // Probes see it first: /health/ready answers 503 from here on.
      services.health.drain();
      server.close();
      server.closeIdleConnections();
      await services.ledger.drain();
      await stream.stop();
      // After the last events were delivered: each client resumes on another node with Last-Event-ID.
      sse.close();
      await retention.stop();
      // Leases are given back: another node takes each endpoint on where this one was acknowledged.
      await services.webhookDispatch.stop();
      sockets.stop();
      io.close();
      for (const deadline = Date.now() + 5000; connections() > 0 && Date.now() < deadline; ) {
        server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      server.closeAllConnections();
    },
  };
}
