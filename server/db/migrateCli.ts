/**
 * Schema commands without starting the hub (npm run migrate | migrate:status | migrate:rollback -- N):
 *   update         apply every pending changeset
 *   status         list pending changesets (liquibase status --verbose)
 *   rollback [N]   roll back the last N changesets (default 1)
 * Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR, as the hub does.
 */
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { queryOnce } from './admin.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { migrate, runLiquibase } from './liquibase.js';

const USAGE = 'usage: migrateCli.ts update | status | rollback [count]';
class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, countArg] = argv;
  if (command !== 'update' && command !== 'status' && command !== 'rollback') throw new UsageError(USAGE);
  const count = countArg === undefined ? 1 : Number(countArg);
  if (command === 'rollback' && !(Number.isInteger(count) && count >= 1)) {
    throw new UsageError(`rollback count must be a positive whole number, not ${JSON.stringify(countArg)}`);
  }

  const config = loadConfig();
  const logger = createLogger(config);
  let embedded: EmbeddedDatabase | null = null;
  try {
    if (!config.DATABASE_URL) {
      logger.info({ dataDir: config.DATA_DIR }, 'no DATABASE_URL: starting embedded PostgreSQL');
      embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, logger);
    }
    const url = config.DATABASE_URL ?? embedded!.url;
    if (command === 'update') {
      await migrate(url, logger);
    } else {
      if (command === 'rollback') await refuseLegacyRollback(url, count);
      const args = command === 'status' ? ['status', '--verbose'] : ['rollback-count', `--count=${count}`];
      process.stdout.write(await runLiquibase(args, { url, logger }));
    }
  } finally {
    await embedded?.stop();
  }
}

/**
 * The older service's changeset created `records`; rolling it back would drop the attendance history
 * it held. Rollback stops at the hub's own changesets.
 */
async function refuseLegacyRollback(url: string, count: number): Promise<void> {
  const { rows } = await queryOnce(url, `SELECT count(*)::int AS n FROM databasechangelog WHERE NOT (id = '1' AND author = 'Abhishek Dubey')`);
  const hub = rows[0].n as number;
  if (count > hub) {
    throw new UsageError(`only ${hub} of the hub's changesets are applied; rolling back ${count} would drop the older service's records`);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError || err instanceof UsageError ? err.message : `migration failed: ${(err as Error).message}`}\n`);
  process.exitCode = 1;
}
