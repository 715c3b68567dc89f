import type { Cache } from '../cache/index.js';
import { pingDatabase, type Knex } from '../db/knex.js';

/** PostgreSQL down is down; Redis down is degraded: every request is still served, from PostgreSQL. */
export type Health = { postgresql: 'up' | 'down'; redis: 'up' | 'down' | 'disabled'; status: 'up' | 'degraded' | 'down' };

export type HealthService = ReturnType<typeof createHealthService>;

export function createHealthService(deps: { db: Knex; cache: Cache; redisEnabled: boolean }) {
  const redisUp = async () => {
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref());
    return Promise.race([deps.cache.ping().catch(() => false), timeout]);
  };
  return {
    databaseUp: () => pingDatabase(deps.db),
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
