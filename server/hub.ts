import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { createCache } from './cache/index.js';
import { RedisStore } from './cache/redisStore.js';
import { MemoryStore } from './cache/store.js';
import type { Config } from './config.js';
import type { Knex } from './db/knex.js';
import type { Logger } from './logger.js';
import { createPublisher } from './realtime/publisher.js';
import { createRealtime, type HubIo } from './realtime/server.js';
import { handleSubscriptions } from './realtime/subscriptions.js';
import type { RedisClients } from './redis.js';
import { createServices, type Services } from './services/index.js';

export type Hub = { url: string; port: number; io: HubIo; services: Services; close(): Promise<void> };

/** One hub node: HTTP + Socket.IO on one port, over a database and (optionally) Redis it is handed. */
export async function startHub(deps: { config: Config; logger: Logger; db: Knex; redis: RedisClients | null }): Promise<Hub> {
  const { config, logger, db, redis } = deps;
  const server = http.createServer();
  const io = createRealtime(server, { logger, redis, prefix: config.REDIS_PREFIX });
  const publisher = createPublisher(io);
  const store = redis ? new RedisStore(redis.client, config.REDIS_PREFIX) : new MemoryStore();
  const cache = createCache(store, config.CACHE_TTL_SECONDS, logger);
  const services = createServices({ db, cache, publisher, redisEnabled: redis !== null });
  handleSubscriptions(io, { feed: services.feed, logger });
  server.on('request', createApp({ config, logger, services }).callback());

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
    /** Stop taking work, settle the check-ins already taken, then let go of sockets and connections. */
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await services.checkins.drain();
      io.close();
      const force = setTimeout(() => server.closeAllConnections(), 5000).unref();
      await closed;
      clearTimeout(force);
    },
  };
}
