import { ConfigError, loadConfig, type Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { createDb } from './db/knex.js';
import { migrate } from './db/liquibase.js';
import { startHub } from './hub.js';
import { createLogger } from './logger.js';
import { connectRedis, redacted } from './redis.js';

/** Boot: config → database (+ migrations) → redis → hub; Ctrl-C undoes it in reverse order. */
async function main(config: Config): Promise<void> {
  const logger = createLogger(config);
  const cleanup: Array<() => Promise<void>> = [];
  const shutdown = async (code: number) => {
    for (const step of cleanup.reverse()) await step().catch((err) => logger.error({ err }, 'shutdown step failed'));
    if (code === 0) logger.info('attendance hub stopped');
    process.exit(code);
  };

  try {
    let embedded: EmbeddedDatabase | null = null;
    if (!config.DATABASE_URL) {
      logger.info({ dataDir: config.DATA_DIR }, 'no DATABASE_URL: starting embedded PostgreSQL');
      embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, logger);
      cleanup.push(embedded.stop);
    }
    const databaseUrl = config.DATABASE_URL ?? embedded!.url;
    if (config.MIGRATE_ON_START) await migrate(databaseUrl, logger);
    else logger.info('MIGRATE_ON_START=false: not applying the Liquibase changelog');
    const db = createDb(
      databaseUrl,
      {
        poolMax: config.DB_POOL_MAX,
        statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
        queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
        acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
        connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
      },
      logger,
    );
    cleanup.push(() => db.destroy());

    let redis = null;
    if (config.REDIS_URL) {
      redis = await connectRedis(config.REDIS_URL, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
      cleanup.push(redis.close);
      logger.info({ redis: redacted(config.REDIS_URL) }, 'redis connected: cache and broadcasts shared with other nodes');
    } else {
      logger.info('no REDIS_URL: running as a single node (in-memory Socket.IO adapter and cache)');
    }

    const hub = await startHub({ config, logger, db, redis });
    cleanup.push(hub.close);
    logger.info({ url: hub.url }, 'attendance hub is listening');
  } catch (err) {
    logger.fatal({ err }, (err as Error).message);
    await shutdown(1);
  }

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      logger.info({ signal }, 'shutting down');
      void shutdown(0);
    });
  }
}

try {
  await main(loadConfig());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
