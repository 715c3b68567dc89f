import { loadConfig } from '../../server/config.js';
import type { Knex } from '../../server/db/knex.js';
import { startHub, type Faults, type Hub } from '../../server/hub.js';
import { createLogger, type Logger } from '../../server/logger.js';
import { connectRedis, type RedisClients } from '../../server/redis.js';
import type { Role, TokenCreate } from '../../shared/auth.js';
import type { Who } from '../../server/auth/actor.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { dropKeys, requireRedis, uniquePrefix } from './redis.js';
import { startOwnRedis, type OwnRedis } from './redisServer.js';

/**
 * A node, with its Redis clients (null without Redis) for tests that watch the adapter's connections,
 * an admin token that `api` and the socket helpers use unless told otherwise, and a way to make others.
 */
export type TestHub = Hub & {
  redis: RedisClients | null;
  adminToken: string;
  /** A new API token (its secret) for the role and sites. */
  token(role: Role, sites?: string[], more?: Partial<TokenCreate>): Promise<string>;
  stop(): Promise<void>;
};

const TEST_ADMIN: Who = { actorKind: 'anonymous', actorId: 'test-setup', actorRole: null, ip: null, requestId: null };

// Tests send thousands of requests a second from one address with one token: limits that would
// refuse them are tested on their own, with settings of their own.
export const UNLIMITED = {
  RATE_LIMIT_PER_TOKEN: '10000000',
  RATE_LIMIT_PER_IP: '10000000',
  SOCKETS_PER_TOKEN: '1000000',
  SOCKETS_PER_IP: '1000000',
  SOCKET_EVENTS_PER_SECOND: '100000',
};

/**
 * One hub node on an ephemeral port over the given database. With redisUrl it joins the other nodes
 * that share the same prefix (cache and Socket.IO channels), as separate processes would.
 */
export async function startTestHub(opts: {
  db: Knex;
  redisUrl?: string;
  prefix?: string;
  env?: Record<string, string>;
  faults?: Faults;
  /** false: no admin token (a hub over a database that is not there cannot make one). */
  admin?: boolean;
  /** Where its log goes: the hub's own logger (silent unless TEST_LOG_LEVEL says otherwise) by default. */
  logger?: Logger;
  /** What time it is for rules judged at read time (who is expected and not in): the real time by default. */
  clock?: () => Date;
}): Promise<TestHub> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_PREFIX: opts.prefix ?? 'hub',
    ...UNLIMITED,
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    ...opts.env,
  });
  const logger = opts.logger ?? createLogger(config);
  const redis: RedisClients | null = opts.redisUrl ? await connectRedis(opts.redisUrl, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS }) : null;
  const hub = await startHub({ config, logger, db: opts.db, redis, faults: opts.faults, clock: opts.clock });
  const token = async (role: Role, sites: string[] = [], more: Partial<TokenCreate> = {}) =>
    (await hub.services.tokens.create({ name: `test ${role}`, role, sites, ...more }, TEST_ADMIN)).token;
  let stopped: Promise<void> | undefined;
  return {
    ...hub,
    redis,
    adminToken: opts.admin === false ? '' : await token('admin'),
    token,
    // Once: a test may stop a node itself (a node that dies) before the set-up stops them all.
    stop() {
      stopped ??= (async () => {
        await hub.close();
        await redis?.close();
      })();
      return stopped;
    },
  };
}

/**
 * A test database (a clone of the migrated template) and one hub over it for the enclosing describe
 * block: made in `before`, after `seed` has filled the database; stopped and dropped in `after`.
 * `env` and `clock` as for startTestHub.
 */
export function useTestHub(opts: { seed?: (db: Knex) => Promise<void>; env?: Record<string, string>; clock?: () => Date } = {}): { tdb: TestDatabase; hub: TestHub } {
  const ctx = {} as { tdb: TestDatabase; hub: TestHub };
  before(async () => {
    ctx.tdb = await createTestDatabase();
    await opts.seed?.(ctx.tdb.db);
    ctx.hub = await startTestHub({ db: ctx.tdb.db, env: opts.env, clock: opts.clock });
  });
  after(async () => {
    await ctx.hub?.stop();
    await ctx.tdb?.drop();
  });
  return ctx;
}

export type Nodes = {
  tdb: TestDatabase;
  nodes: TestHub[];
  redisUrl: string;
  prefix: string;
  /** The Redis of the nodes' own when asked for (ownRedis), which the test may stop and start. */
  ownRedis: OwnRedis | null;
  stop(): Promise<void>;
};

/**
 * `count` hub nodes over one test database (seeded first) and one Redis, under a prefix of their own,
 * as that many processes would be: the machine's Redis, or with `ownRedis` a redis-server of the
 * test's own. `faults(i)` are node i's. `stop` ends the nodes, drops the database and removes the keys
 * (or the own Redis). Pending without REDIS_URL (failing under CI): call it from a `before(function () {…})`.
 */
export async function startNodes(
  ctx: Mocha.Context,
  label: string,
  opts: { count: number; seed?: (db: Knex) => Promise<void>; ownRedis?: boolean; faults?: (i: number) => Faults | undefined },
): Promise<Nodes> {
  const sharedUrl = requireRedis(ctx);
  const tdb = await createTestDatabase();
  const nodes: TestHub[] = [];
  const ownRedis = opts.ownRedis ? await startOwnRedis() : null;
  const redisUrl = ownRedis?.url ?? sharedUrl;
  const prefix = uniquePrefix(label);
  const stop = async () => {
    for (const node of nodes) await node.stop();
    await tdb.drop();
    if (ownRedis) await ownRedis.stop();
    else await dropKeys(redisUrl, prefix);
  };
  // A start that fails leaves nothing behind (an own redis-server would keep mocha running).
  try {
    await opts.seed?.(tdb.db);
    for (let i = 0; i < opts.count; i++) nodes.push(await startTestHub({ db: tdb.db, redisUrl, prefix, faults: opts.faults?.(i) }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { tdb, nodes, redisUrl, prefix, ownRedis, stop };
}

export type TwoNodes = Omit<Nodes, 'nodes'> & { a: TestHub; b: TestHub };

/** Two nodes (see startNodes) on the machine's Redis, or with `ownRedis` on one of the test's own. */
export async function startTwoNodes(ctx: Mocha.Context, label: string, seed?: (db: Knex) => Promise<void>, opts: { ownRedis?: boolean } = {}): Promise<TwoNodes> {
  const { nodes, ...rest } = await startNodes(ctx, label, { count: 2, seed, ...opts });
  return { ...rest, a: nodes[0]!, b: nodes[1]! };
}

/**
 * fetch against a hub with JSON in and out, as the hub's admin unless `headers` say otherwise (an
 * `authorization` of their own; '' sends none).
 */
export async function api(hub: { url: string; adminToken?: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const auth = 'authorization' in headers ? headers.authorization : hub.adminToken && `Bearer ${hub.adminToken}`;
  const { authorization: _, ...rest } = headers;
  const sent = { ...rest, ...(auth ? { authorization: auth } : {}) };
  const res = await fetch(hub.url + path, {
    method,
    headers: body === undefined ? sent : { 'content-type': 'application/json', ...sent },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, headers: res.headers };
}
