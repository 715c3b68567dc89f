import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { createCache } from './cache/index.js';
import { RedisStore } from './cache/redisStore.js';
import { MemoryStore } from './cache/store.js';
import type { Config } from './config.js';
import type { Knex } from './db/knex.js';
import { createPublisher, type Faults } from './events/publisher.js';
import { createEventStream, type EventStream } from './events/stream.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createJwtVerifier, jwtSettings } from './auth/jwt.js';
import { createRevocations } from './auth/revocations.js';
import { createHttpServer } from './http/server.js';
import { createRepeatLog, type Logger } from './logger.js';
import { authenticateSockets } from './realtime/auth.js';
import { createDelivery } from './realtime/delivery.js';
import { handleKioskCheckins } from './realtime/kiosk.js';
import { announcer, attachRealtime, createRealtime, type HubIo } from './realtime/server.js';
import { handleSubscriptions } from './realtime/subscriptions.js';
import type { RedisClients } from './redis.js';
import { createServices, type Services } from './services/index.js';

export type { Faults };

export type Hub = { url: string; port: number; io: HubIo; services: Services; stream: EventStream; close(): Promise<void> };

/**
 * One hub node: HTTP + Socket.IO on one port, over a database and (optionally) Redis it is handed.
 * Wired once, in dependency order: services publish what they commit; the node's event stream takes
 * this node's publishes and the other nodes' announcements, and hands every event, in seq order, to
 * the ledger (what it knows of others' check-ins) and to the sockets.
 */
export async function startHub(deps: { config: Config; logger: Logger; db: Knex; redis: RedisClients | null; faults?: Faults }): Promise<Hub> {
  const { config, logger, db, redis } = deps;
  const server = createHttpServer(config);
  const log = createRepeatLog(logger);
  const io = createRealtime({ logger, redis, prefix: config.REDIS_PREFIX, corsOrigins: config.CORS_ORIGINS, maxPayloadBytes: config.SOCKET_MAX_PAYLOAD_BYTES });
  const publisher = createPublisher({ announce: redis ? announcer(io, redis.pub, 'hub:events') : undefined, faults: deps.faults });
  const revocations = createRevocations({ announce: redis ? announcer(io, redis.pub, 'hub:revoked') : undefined });
  const store = redis ? new RedisStore(redis.client, config.REDIS_PREFIX) : new MemoryStore();
  const cache = createCache(store, config.CACHE_TTL_SECONDS, log);
  const services = createServices({ config, db, cache, publisher, revocations, redis: redis?.client ?? null, redisEnabled: redis !== null });
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
  stream.subscribe(createDelivery(io));
  await stream.start();

  const sockets = authenticateSockets(io, {
    authenticator,
    corsOrigins: config.CORS_ORIGINS,
    revocations,
    log,
    limits: { perToken: config.SOCKETS_PER_TOKEN, perIp: config.SOCKETS_PER_IP, eventsPerSecond: config.SOCKET_EVENTS_PER_SECOND, recheckMs: config.AUTH_CACHE_SECONDS * 1000 },
  });
  handleSubscriptions(io, { feed: services.feed, presence: services.presence, stream, log });
  handleKioskCheckins(io, { checkins: services.checkins, log });
  server.on('request', createApp({ config, logger, log, services, authenticator, redis }).callback());
  attachRealtime(io, server);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;

  return {
    url: `http://${host}:${port}`,
    port,
    io,
    services,
    stream,
    /** Stop taking work, settle the writes already taken, then let go of sockets and connections. */
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await services.ledger.drain();
      await stream.stop();
      sockets.stop();
      io.close();
      const force = setTimeout(() => server.closeAllConnections(), 5000).unref();
      await closed;
      clearTimeout(force);
    },
  };
}
