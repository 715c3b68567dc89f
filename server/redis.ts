import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type RedisClients = {
  /**
   * Cache and counters: fails fast while Redis is away (no offline queue) or does not answer (a command
   * timeout), so callers fall back to PostgreSQL or to this node's memory.
   */
  client: Redis;
  /** The Socket.IO adapter's publisher and subscriber. */
  pub: Redis;
  sub: Redis;
  close(): Promise<void>;
};

const READY_TIMEOUT_MS = 10000;
const QUIT_TIMEOUT_MS = 2000;

export async function connectRedis(url: string, logger: Logger, opts: { commandTimeoutMs: number }): Promise<RedisClients> {
  const make = (role: string, fastFail: boolean) => {
    const redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: !fastFail,
      // Only where the caller awaits the command: the adapter's publishes are never awaited, so a
      // timeout there would be an unhandled rejection (the publisher bounds what they queue instead).
      ...(fastFail ? { commandTimeout: opts.commandTimeoutMs } : {}),
      // Every request takes two rate-limit counts and some cache reads: sent one write each, those
      // writes were a quarter of the hub's CPU under load. Commands issued in one turn of the event
      // loop now go out as one pipeline.
      enableAutoPipelining: fastFail,
      // The adapter never awaits its publishes, so a command rejected after N reconnect attempts is an
      // unhandled rejection that ends the process (it did, half a minute into a Redis outage). Its
      // connections keep commands until Redis is back instead; the hub only publishes while connected,
      // which bounds what they keep to what was in flight when the connection dropped.
      maxRetriesPerRequest: fastFail ? 1 : null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    let down = false;
    redis.on('error', (err) => {
      if (!down) logger.warn({ err: err.message, role }, 'redis connection error; retrying');
      down = true;
    });
    redis.on('ready', () => {
      if (down) logger.info({ role }, 'redis connection restored');
      down = false;
    });
    return redis;
  };
  const clients = { client: make('cache', true), pub: make('adapter-pub', false), sub: make('adapter-sub', false) };
  const all = Object.values(clients);
  try {
    await Promise.all(
      all.map((r) =>
        Promise.race([
          r.connect(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), READY_TIMEOUT_MS).unref()),
        ]),
      ),
    );
  } catch (err) {
    all.forEach((r) => r.disconnect());
    throw new Error(`cannot reach Redis at REDIS_URL (${redacted(url)}): ${(err as Error).message}`);
  }
  return {
    ...clients,
    /** QUIT where connected (bounded: a queued QUIT would wait for Redis forever); otherwise just drop the connection. */
    async close() {
      await Promise.all(
        all.map(async (r) => {
          if (r.status === 'ready') {
            await Promise.race([r.quit().catch(() => undefined), new Promise((done) => setTimeout(done, QUIT_TIMEOUT_MS).unref())]);
          }
          r.disconnect();
        }),
      );
    },
  };
}

export function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
