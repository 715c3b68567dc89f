import { Redis } from 'ioredis';

/** Delete every Redis key under a prefix (a bench's own); returns how many went. */
export async function removeRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  let removed = 0;
  try {
    for (let cursor = '0'; ; ) {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) removed += await redis.del(...keys);
      cursor = nextCursor;
      if (cursor === '0') break;
    }
  } finally {
    await redis.quit();
  }
  return removed;
}
