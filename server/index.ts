import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { createDb, type Knex } from './db/knex.js';
import { migrate } from './db/liquibase.js';
import { startHub } from './hub.js';
import { createLogger, type Logger } from './logger.js';
import { connectRedis, redacted } from './redis.js';
import { ensureAdmin } from './services/bootstrap.js';

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
    await firstAdmin(db, config, embedded !== null, logger);

    let redis = null;
    if (config.REDIS_URL) {
      redis = await connectRedis(config.REDIS_URL, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
      cleanup.push(redis.close);
      logger.info({ redis: redacted(config.REDIS_URL) }, 'redis connected: cache and broadcasts shared with other nodes');
    } else {
      logger.info('no REDIS_URL: running as a single node (in-memory Socket.IO adapter and cache)');
    }

    if (!config.AUTH_ENABLED) logger.warn({ host: config.HOST }, 'AUTH_ENABLED=false: anyone who reaches this hub acts as an admin');
    if (config.LEGACY_ANONYMOUS) logger.warn("LEGACY_ANONYMOUS=true: the older API's create and search routes take requests without credentials");
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

/**
 * A database nobody can administer gets an admin token: ADMIN_TOKEN's, or a random one, logged once
 * and, for the embedded default, written where the README says (DATA_DIR/admin-token, mode 0600).
 */
async function firstAdmin(db: Knex, config: Config, embedded: boolean, logger: Logger): Promise<void> {
  const made = await ensureAdmin(db, config.ADMIN_TOKEN);
  if (made.made === 'from ADMIN_TOKEN') logger.info('first start: ADMIN_TOKEN is now an admin API token');
  if (made.made === 'nothing' && made.adminTokenUnknown) logger.warn('ADMIN_TOKEN is set but admins already exist: it is not a token of this hub and was not added');
  if (made.made !== 'generated') return;
  const file = path.join(config.DATA_DIR, 'admin-token');
  if (embedded) await fs.writeFile(file, `${made.secret}\n`, { mode: 0o600 });
  logger.warn(
    { adminToken: made.secret, ...(embedded ? { file } : {}) },
    'first start: made an admin API token; it is shown only now (send it as Authorization: Bearer <token>)',
  );
}

try {
  await main(loadConfig());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
