import knexFactory, { type Knex } from 'knex';
import PgClient from 'knex/lib/dialects/postgres/index.js';
import pg from 'pg';
import type { Logger } from '../logger.js';

export type { Knex };

// Return BIGINT (seq) as a JS number: seqs stay far below 2^53, and clients compare them numerically.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// DATE stays a 'YYYY-MM-DD' string: a Date object would shift it by the server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

/** How long the hub waits on PostgreSQL before it gives up (and answers 503). */
export type DbLimits = {
  poolMax: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  acquireTimeoutMs: number;
  connectTimeoutMs: number;
};

export const DEFAULT_DB_LIMITS: DbLimits = { poolMax: 10, statementTimeoutMs: 2500, queryTimeoutMs: 3000, acquireTimeoutMs: 2000, connectTimeoutMs: 2000 };

type PooledClient = pg.Client & { readyForQuery?: boolean; __knex__disposed?: unknown };

/**
 * A connection handed back while a query is still out (the hub stopped waiting for it) or inside a
 * transaction is in a state nobody knows: a frozen server that wakes up would finish that query, and
 * the next user of the connection would run inside its transaction, holding its locks. End it instead
 * of pooling it (pg ends a busy connection at once) and let the pool open a fresh one.
 */
export function isReusable(conn: PooledClient): boolean {
  return !isBusy(conn) && conn.getTransactionStatus() === 'I';
}

const isBusy = (conn: pg.Client) => (conn as PooledClient).readyForQuery === false;

// pg answers a failed query on PostgreSQL's error message, a moment before the ready-for-query that
// follows it; a query the hub stopped waiting for gets neither until the server answers.
const SETTLE_MS = 50;

/** True once the connection is ready for another query, false if it is still waiting for an answer after a moment. */
export async function settle(conn: pg.Client): Promise<boolean> {
  if (!isBusy(conn)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      conn.off('drain', done);
      resolve();
    };
    const timer = setTimeout(done, SETTLE_MS);
    conn.on('drain', done);
  });
  return !isBusy(conn);
}

class GuardedPgClient extends PgClient {
  override async releaseConnection(conn: PooledClient) {
    await settle(conn);
    if (!isReusable(conn)) {
      conn.__knex__disposed ??= 'given back while busy';
      void conn.end().catch(() => undefined);
    }
    return super.releaseConnection(conn);
  }
}

/** Knex's own warnings (pool errors, say) go to the hub's log when a logger is given. */
export function createDb(url: string, limits: Partial<DbLimits> = {}, logger?: Logger): Knex {
  const l = { ...DEFAULT_DB_LIMITS, ...limits };
  return knexFactory({
    ...(logger && {
      log: {
        warn: (message: unknown) => logger.warn({ knex: message }, 'knex'),
        error: (message: unknown) => logger.error({ knex: message }, 'knex'),
        deprecate: (method: string, alternative: string) => logger.warn({ method, alternative }, 'knex deprecation'),
        debug: (message: unknown) => logger.debug({ knex: message }, 'knex'),
      },
    }),
    client: GuardedPgClient,
    connection: {
      connectionString: url,
      connectionTimeoutMillis: l.connectTimeoutMs,
      statement_timeout: l.statementTimeoutMs,
      query_timeout: l.queryTimeoutMs,
      // A backend left idle inside a transaction (its client gone quiet) lets go of its locks.
      idle_in_transaction_session_timeout: Math.max(l.queryTimeoutMs * 2, 10_000),
      keepAlive: true,
    },
    pool: { min: 0, max: l.poolMax, validate: isReusable },
    acquireConnectionTimeout: l.acquireTimeoutMs,
  });
}

/** The pool's connections lent out, and the acquires waiting for one (the metrics read them). */
export function poolStats(db: Knex): { inUse: number; waiting: number } {
  // A destroyed Knex has no pool.
  const pool = db.client.pool as { numUsed(): number; numPendingAcquires(): number } | undefined;
  return { inUse: pool?.numUsed() ?? 0, waiting: pool?.numPendingAcquires() ?? 0 };
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
