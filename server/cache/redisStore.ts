import type { Redis } from 'ioredis';
import type { CacheStore } from './store.js';

/**
 * How long a key's version outlives its last bump. A bump deletes the value, so what a version guards
 * against is only a reader that read the version before the bump and writes after it: the version
 * must outlive every such read. A read is bounded by the database timeouts (at most 10 minutes by
 * config), so an hour is ample, and Redis keeps a version only for keys written in the last hour
 * (every older-API create bumps one per employee; seven days of them was most of what Redis held).
 */
export const VERSION_TTL_SECONDS = 3600;

const WRITE_IF_CURRENT = `
local current = redis.call('GET', KEYS[1]) or '0'
if current == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
end
return 0`;

const BUMP = `
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 0`;

type Scripted = Redis & {
  hubCacheWrite(verKey: string, valKey: string, version: string, json: string, ttl: number): Promise<number>;
  hubCacheBump(verKey: string, valKey: string, ttl: number): Promise<number>;
};

export class RedisStore implements CacheStore {
  private redis: Scripted;

  constructor(
    redis: Redis,
    private prefix: string,
  ) {
    redis.defineCommand('hubCacheWrite', { numberOfKeys: 2, lua: WRITE_IF_CURRENT });
    redis.defineCommand('hubCacheBump', { numberOfKeys: 2, lua: BUMP });
    this.redis = redis as Scripted;
  }

  private keys(key: string) {
    return { ver: `${this.prefix}:cache:ver:${key}`, val: `${this.prefix}:cache:val:${key}` };
  }

  async read(key: string) {
    const k = this.keys(key);
    const [version, raw] = await this.redis.mget(k.ver, k.val);
    if (!raw) return { version: version ?? '0', cached: null };
    const bar = raw.indexOf('|');
    return { version: version ?? '0', cached: { version: raw.slice(0, bar), json: raw.slice(bar + 1) } };
  }

  async write(key: string, version: string, json: string, ttlSeconds: number) {
    const k = this.keys(key);
    await this.redis.hubCacheWrite(k.ver, k.val, version, json, ttlSeconds);
  }

  async bump(key: string) {
    const k = this.keys(key);
    await this.redis.hubCacheBump(k.ver, k.val, VERSION_TTL_SECONDS);
  }

  async versions(keys: string[]) {
    if (!keys.length) return [];
    const found = await this.redis.mget(keys.map((key) => this.keys(key).ver));
    return found.map((version) => version ?? '0');
  }

  async ping() {
    return (await this.redis.ping()) === 'PONG';
  }
}
