import cluster from 'node:cluster';
import { runPrimary, serveForPrimary } from './boot/cluster.js';
import { prepareDatabase } from './boot/database.js';
import { startNode } from './boot/node.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';

/**
 * Boot: config → database (embedded when no DATABASE_URL; migrations; the first admin) → one hub
 * node in this process, or, with WORKERS > 1, that many worker processes behind the one port. Ctrl-C
 * or SIGTERM undoes it in reverse order, settling every write already taken.
 */
async function main(config: Config): Promise<void> {
  const logger = createLogger(config).child(cluster.isWorker ? { worker: process.pid } : {});
  const cleanup: Array<() => Promise<void>> = [];
  const shutdown = async (code: number) => {
    for (const step of cleanup.reverse()) await step().catch((err) => logger.error({ err }, 'shutdown step failed'));
    if (code === 0 && !cluster.isWorker) logger.info('attendance hub stopped');
    process.exit(code);
  };
  let stopping = false;
  const stop = (why: object) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info(why, 'shutting down');
    void shutdown(0);
  };

  try {
    if (cluster.isWorker) {
      // The primary prepared the database and says when to stop; a terminal's Ctrl-C reaches it, not us.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
      // A primary that is gone (killed outright) leaves nobody to hand us connections.
      process.on('disconnect', () => stop({ by: 'primary gone' }));
      const node = await startNode(config, logger, config.DATABASE_URL!, true);
      cleanup.push(node.close);
      serveForPrimary(node.hub.server, node.hub.io, () => stop({ by: 'primary' }));
      return;
    }
    const database = await prepareDatabase(config, logger);
    cleanup.push(database.stop);
    warnings(config, logger);
    if (config.WORKERS > 1) {
      const primary = await runPrimary(config, logger, { DATABASE_URL: database.url, MIGRATE_ON_START: 'false' });
      cleanup.push(primary.stop);
      logger.info({ url: `http://${config.HOST}:${config.PORT}`, workers: config.WORKERS }, 'attendance hub is listening');
    } else {
      const node = await startNode(config, logger, database.url, false);
      cleanup.push(node.close);
      logger.info({ url: node.hub.url }, 'attendance hub is listening');
    }
  } catch (err) {
    logger.fatal({ err }, (err as Error).message);
    await shutdown(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop({ signal }));
}

function warnings(config: Config, logger: Logger): void {
  if (!config.AUTH_ENABLED) logger.warn({ host: config.HOST }, 'AUTH_ENABLED=false: anyone who reaches this hub acts as an admin');
  if (config.LEGACY_ANONYMOUS) logger.warn("LEGACY_ANONYMOUS=true: the older API's create and search routes take requests without credentials");
  if (config.WORKERS > 1 && !config.REDIS_URL) logger.info({ workers: config.WORKERS }, 'no REDIS_URL: workers share broadcasts and counters through the primary, and keep no read cache');
}

try {
  await main(loadConfig());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
