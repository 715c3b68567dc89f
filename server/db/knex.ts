import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../logger.js';

export type { Knex };

// Return BIGINT (seq) as a JS number: seqs stay far below 2^53, and clients compare them numerically.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// DATE stays a 'YYYY-MM-DD' string: a Date object would shift it by the server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

/** Knex's own warnings (pool errors, say) go to the hub's log when a logger is given. */
export function createDb(url: string, poolMax = 10, logger?: Logger): Knex {
  return knexFactory({
    ...(logger && {
      log: {
        warn: (message: unknown) => logger.warn({ knex: message }, 'knex'),
        error: (message: unknown) => logger.error({ knex: message }, 'knex'),
        deprecate: (method: string, alternative: string) => logger.warn({ method, alternative }, 'knex deprecation'),
        debug: (message: unknown) => logger.debug({ knex: message }, 'knex'),
      },
    }),
    client: 'pg',
    connection: { connectionString: url, connectionTimeoutMillis: 5000 },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10000,
  });
}

/** Run fn in a transaction, reusing one that is already open so services compose. */
export async function inTransaction<T>(db: Knex | Knex.Transaction, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return fn(db as Knex.Transaction);
  return db.transaction(fn);
}

/** True when PostgreSQL answers within timeoutMs. */
export async function pingDatabase(db: Knex, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const ping = db.raw('select 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
