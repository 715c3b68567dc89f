import type { Redis } from 'ioredis';
import { RateLimiterCluster, RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Counters that limit something: `points` per `seconds`, under a name of their own. */
export type LimiterFactory = (name: string, points: number, seconds: number, reach?: 'shared' | 'node') => RateLimiterAbstract;

/**
 * Where counters live. In Redis when the hub has it, so every node shares them (in this process's
 * memory while Redis is away). Without Redis, in memory: a worker's own, or, for the counts that guard
 * secrets (`shared`: wrong PINs and passwords), the cluster primary's, so N workers do not allow N
 * times the guesses.
 */
export function limiterFactory(deps: { redis: Redis | null; prefix: string; cluster: boolean }): LimiterFactory {
  return (name, points, seconds, reach = 'shared') => {
    const memory = new RateLimiterMemory({ points, duration: seconds });
    if (deps.redis) {
      return new RateLimiterRedis({ points, duration: seconds, storeClient: deps.redis, keyPrefix: `${deps.prefix}:${name}`, rejectIfRedisNotReady: true, insuranceLimiter: memory });
    }
    if (deps.cluster && reach === 'shared') return new RateLimiterCluster({ points, duration: seconds, keyPrefix: name, timeoutMs: 2000 });
    return memory;
  };
}
