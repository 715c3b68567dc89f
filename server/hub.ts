import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { createCache } from './cache/index.js';
import { RedisStore } from './cache/redisStore.js';
import { MemoryStore } from './cache/store.js';
import type { Config } from './config.js';
import type { Knex } from './db/knex.js';
import { createHttpServer } from './http/server.js';
import { createRepeatLog, type Logger } from './logger.js';
import { createDelivery } from './realtime/delivery.js';
import { handleKioskCheckins } from './realtime/kiosk.js';
import { createPublisher } from './realtime/publisher.js';
import { attachRealtime, createRealtime, type HubIo } from './realtime/server.js';
import { createEventStream, type EventStream } from './realtime/stream.js';
import { createFeedService } from './services/feed.js';
import { handleSubscriptions } from './realtime/subscriptions.js';
import type { RedisClients } from './redis.js';
import type { HubEvent } from './repositories/events.js';
import { createServices, type Services } from './services/index.js';

// Announcements waiting on a Redis that does not answer (frozen, not disconnected) are bounded: past
// this many, the node stops announcing and the other nodes read what they missed from PostgreSQL.
const MAX_UNANSWERED_PUBLISHES = 1000;

const canPublish = (pub: RedisClients['pub']) => pub.status === 'ready' && pub.commandQueue.length < MAX_UNANSWERED_PUBLISHES;

export type Hub = { url: string; port: number; io: HubIo; services: Services; stream: EventStream; close(): Promise<void> };

/** Test seams for failure drills: drop a publish to act out a node that dies between commit and publish. */
export type Faults = { dropPublish?: () => boolean };

/** One hub node: HTTP + Socket.IO on one port, over a database and (optionally) Redis it is handed. */
export async function startHub(deps: { config: Config; logger: Logger; db: Knex; redis: RedisClients | null; faults?: Faults }): Promise<Hub> {
  const { config, logger, db, redis } = deps;
  const server = createHttpServer(config);
  const log = createRepeatLog(logger);
  const io = createRealtime({ logger, redis, prefix: config.REDIS_PREFIX });
  // The node's ordered view of committed events; publishing feeds it, and it feeds the sockets.
  const feed = createFeedService({ db });
  // Each run of committed events goes to the sockets, and to the check-in service (set below), which
  // learns from other nodes' check-ins what it can no longer assume.
  const toSockets = createDelivery(io);
  let toCheckins: (events: HubEvent[]) => void = () => undefined;
  const deliver = (events: HubEvent[]) => {
    toCheckins(events);
    toSockets(events);
  };
  const stream = createEventStream({ readAfter: feed.after, readHead: feed.head, deliver, logger });
  const publisher = createPublisher(io, { stream, canAnnounce: () => redis !== null && canPublish(redis.pub), faults: deps.faults });
  const store = redis ? new RedisStore(redis.client, config.REDIS_PREFIX) : new MemoryStore();
  const cache = createCache(store, config.CACHE_TTL_SECONDS, log);
  const services = createServices({ config, db, cache, publisher, feed, redis: redis?.client ?? null, redisEnabled: redis !== null });
  toCheckins = services.checkins.observe;
  await stream.start();
  io.on('hub:events', (events) => stream.offer(events));
  redis?.sub.on('ready', () => void stream.catchUp());
  handleSubscriptions(io, { feed: services.feed, presence: services.presence, stream, log });
  handleKioskCheckins(io, { checkins: services.checkins, log });
  server.on('request', createApp({ config, logger, log, services }).callback());
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
    /** Stop taking work, settle the check-ins already taken, then let go of sockets and connections. */
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await services.checkins.drain();
      await stream.stop();
      io.close();
      const force = setTimeout(() => server.closeAllConnections(), 5000).unref();
      await closed;
      clearTimeout(force);
    },
  };
}
