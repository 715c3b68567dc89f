import type { Knex } from '../../server/db/knex.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startTestHub, type TestHub } from './hub.js';
import { dropKeys, requireRedis, uniquePrefix } from './redis.js';

export type Pair = { tdb: TestDatabase; a: TestHub; b: TestHub; stop(): Promise<void> };

/**
 * Two nodes over one test database and the machine's Redis, with settings of their own (startTwoNodes
 * takes none). Pending without REDIS_URL, failing under CI: call it from a `before(function () {…})`.
 */
export async function startPair(ctx: Mocha.Context, label: string, env: Record<string, string>, seed?: (db: Knex) => Promise<void>): Promise<Pair> {
  const redisUrl = requireRedis(ctx);
  const tdb = await createTestDatabase();
  const prefix = uniquePrefix(label);
  const nodes: TestHub[] = [];
  const stop = async () => {
    for (const node of nodes) await node.stop();
    await tdb.drop();
    await dropKeys(redisUrl, prefix);
  };
  try {
    await seed?.(tdb.db);
    for (let i = 0; i < 2; i++) nodes.push(await startTestHub({ db: tdb.db, redisUrl, prefix, env }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { tdb, a: nodes[0]!, b: nodes[1]!, stop };
}

/** Resolves when the node hears of a revocation made on another node (the adapter's 'hub:revoked'), within `ms`. */
export function revocationHeard(node: TestHub, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no revocation announced to the other node within ${ms} ms`)), ms);
    node.io.once('hub:revoked', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
