import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { createDb, type Knex } from '../db/knex.js';
import { redacted } from '../redis.js';
import { TABLE as TOKENS } from '../repositories/tokens.js';
import { TABLE as USERS } from '../repositories/users.js';
import { CliError, onExit } from './run.js';

const NO_SCHEMA = 'start the hub once, or run npm run migrate';

/**
 * The hub's database, for a command: DATABASE_URL if set; else the embedded PostgreSQL of DATA_DIR —
 * the one a running hub already serves on EMBEDDED_PG_PORT (a second server on the same folder would
 * be refused), or, with no hub running, one started for this command and stopped after it. Never
 * migrates: a database without the hub's schema is reported, not changed.
 */
export async function openDatabase(config: Config): Promise<Knex> {
  let url = config.DATABASE_URL;
  let where = url ? `DATABASE_URL (${redacted(url)})` : '';
  if (!url) {
    where = `the embedded PostgreSQL of ${config.DATA_DIR}`;
    url = (await runningEmbedded(config)) ?? undefined;
    if (!url) {
      if (!existsSync(path.join(config.DATA_DIR, 'pg', 'PG_VERSION'))) throw new CliError(`no hub database in DATA_DIR ${config.DATA_DIR} yet: ${NO_SCHEMA}`);
      // Its warnings (a folder made reachable for the postgres user, a leftover server stopped) go to stderr; stdout is the command's answer.
      const logger = pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true }));
      const embedded: EmbeddedDatabase = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, logger);
      onExit(embedded.stop);
      url = embedded.url;
    }
  }
  const db = createDb(url, {
    poolMax: 2,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
    acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
  });
  onExit(() => db.destroy());
  await requireSchema(db, where);
  return db;
}

/** How embedded.ts names the embedded server's database. */
const embeddedUrl = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/attendance`;

/**
 * The URL of the embedded PostgreSQL of DATA_DIR if it is already running (a hub uses it), else null.
 * Something else answering on that port is an error, not a database to write tokens into.
 */
async function runningEmbedded(config: Config): Promise<string | null> {
  const url = embeddedUrl(config.EMBEDDED_PG_PORT);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return null;
    if (code === '3D000') throw new CliError(`the embedded PostgreSQL on port ${config.EMBEDDED_PG_PORT} has no hub database yet: ${NO_SCHEMA}`);
    throw new CliError(`cannot use the embedded PostgreSQL on 127.0.0.1:${config.EMBEDDED_PG_PORT}: ${(err as Error).message}`);
  }
  try {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    const serves = rows[0]?.data_directory ?? '';
    const ours = path.join(config.DATA_DIR, 'pg');
    if (canonical(serves) !== canonical(ours)) {
      throw new CliError(`the PostgreSQL on 127.0.0.1:${config.EMBEDDED_PG_PORT} serves ${serves}, not ${ours}: set DATA_DIR and EMBEDDED_PG_PORT to those of the hub`);
    }
    return url;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function canonical(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

async function requireSchema(db: Knex, where: string): Promise<void> {
  let rows: Array<{ tokens: string | null; users: string | null }>;
  try {
    ({ rows } = await db.raw('SELECT to_regclass(?) AS tokens, to_regclass(?) AS users', [TOKENS, USERS]));
  } catch (err) {
    throw new CliError(`cannot reach ${where}: ${(err as Error).message}`);
  }
  if (!rows[0]?.tokens || !rows[0]?.users) throw new CliError(`${where} does not have the hub's schema yet: ${NO_SCHEMA}`);
}
