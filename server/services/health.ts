import type { Cache } from '../cache/index.js';
import { pingDatabase, type Knex } from '../db/knex.js';

/** PostgreSQL down is down; Redis down is degraded: every request is still served, from PostgreSQL. */
export type Health = { postgresql: 'up' | 'down'; redis: 'up' | 'down' | 'disabled'; status: 'up' | 'degraded' | 'down' };

export type HealthService = ReturnType<typeof createHealthService>;

/** Whether this node should be sent traffic, and why not. */
export type Readiness =
  | { ready: false; draining: true }
  | { ready: boolean; draining: false; postgresql: 'up' | 'down'; redis: 'up' | 'down' | 'disabled' };

// A probe is answered quickly, whatever hangs: a readiness check slower than this says not ready.
const READY_TIMEOUT_MS = 1000;

export function createHealthService(deps: { db: Knex; cache: Cache; redisEnabled: boolean }) {
  const redisUp = async () => {
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref());
    return Promise.race([deps.cache.ping().catch(() => false), timeout]);
  };
  let draining = false;
  return {
    databaseUp: () => pingDatabase(deps.db),
    /**
     * Ready for traffic: not draining, PostgreSQL answers and, when the hub has Redis, so does Redis
     * (the nodes' broadcasts and shared counters ride on it).
     */
    async ready(): Promise<Readiness> {
      if (draining) return { ready: false, draining: true };
      const [pgUp, redis] = await Promise.all([pingDatabase(deps.db, READY_TIMEOUT_MS), deps.redisEnabled ? redisUp() : null]);
      const redisState = redis === null ? 'disabled' : redis ? 'up' : 'down';
      return { ready: pgUp && redisState !== 'down', draining: false, postgresql: pgUp ? 'up' : 'down', redis: redisState };
    },
    /** The node is shutting down: from now on it is not ready, whatever answers. */
    drain() {
      draining = true;
    },
    async detail(): Promise<Health> {
      const [pgUp, redis] = await Promise.all([pingDatabase(deps.db), deps.redisEnabled ? redisUp() : null]);
      const redisState = redis === null ? 'disabled' : redis ? 'up' : 'down';
      return {
        postgresql: pgUp ? 'up' : 'down',
        redis: redisState,
        status: !pgUp ? 'down' : redisState === 'down' ? 'degraded' : 'up',
      };
    },
  };
}
