import type { Config } from '../config.js';
import { startHub, type Hub } from '../hub.js';
import type { Logger } from '../logger.js';
import { connectRedis, redacted, type RedisClients } from '../redis.js';
import { openPool } from './database.js';

/** One hub node in this process, over a database already prepared: its pool, its Redis, its hub. */
export async function startNode(config: Config, logger: Logger, databaseUrl: string, clustered: boolean): Promise<{ hub: Hub; close(): Promise<void> }> {
  const db = openPool(config, databaseUrl, logger);
  let redis: RedisClients | null = null;
  try {
    if (config.REDIS_URL) {
      redis = await connectRedis(config.REDIS_URL, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
      logger.info({ redis: redacted(config.REDIS_URL) }, 'redis connected: cache and broadcasts shared with other nodes');
    } else if (!clustered) {
      logger.info('no REDIS_URL: running as a single node (in-memory Socket.IO adapter and cache)');
    }
    const hub = await startHub({ config, logger, db, redis, clustered });
    return {
      hub,
      async close() {
        await hub.close();
        await redis?.close();
        await db.destroy();
      },
    };
  } catch (err) {
    await redis?.close();
    await db.destroy();
    throw err;
  }
}
