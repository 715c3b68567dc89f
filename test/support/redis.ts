import { Redis } from 'ioredis';

/**
 * Tests that need Redis call this first: without REDIS_URL they are pending with the reason, except
 * in CI (CI=true), where a missing Redis must fail the run rather than pass it quietly.
 */
let warned = false;

export function requireRedis(ctx: Mocha.Context): string {
  const url = process.env.REDIS_URL;
  if (url) return url;
  if (process.env.CI === 'true') throw new Error('REDIS_URL is not set, and CI=true requires the Redis tests to run');
  if (!warned) console.warn('  (REDIS_URL is not set: tests that need Redis are pending)');
  warned = true;
  ctx.skip();
}

export function uniquePrefix(label: string): string {
  return `test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Delete what a test left in the shared Redis under its prefix (cache versions live for days). */
export async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
