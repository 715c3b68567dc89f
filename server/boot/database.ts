import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { createDb, type Knex } from '../db/knex.js';
import { migrate } from '../db/liquibase.js';
import type { Logger } from '../logger.js';
import { ensureAdmin } from '../services/bootstrap.js';

/** The database as the process that owns it leaves it: running (embedded when no DATABASE_URL), migrated, with an admin. */
export type PreparedDatabase = { url: string; stop(): Promise<void> };

/** Once per hub, in the process that owns the database: the single process, or the cluster's primary. */
export async function prepareDatabase(config: Config, logger: Logger): Promise<PreparedDatabase> {
  let stop = async (): Promise<void> => undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    logger.info({ dataDir: config.DATA_DIR }, 'no DATABASE_URL: starting embedded PostgreSQL');
    const embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, logger);
    ({ url, stop } = embedded);
  }
  try {
    if (config.MIGRATE_ON_START) await migrate(url, logger);
    else logger.info('MIGRATE_ON_START=false: not applying the Liquibase changelog');
    const db = createDb(url, { poolMax: 1 }, logger);
    try {
      await firstAdmin(db, config, !config.DATABASE_URL, logger);
    } finally {
      await db.destroy();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/** A node's pool, with the waits config bounds. */
export function openPool(config: Config, url: string, logger: Logger): Knex {
  return createDb(
    url,
    {
      poolMax: config.DB_POOL_MAX,
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
      queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
      acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
      connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    },
    logger,
  );
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
