import type { Redis } from 'ioredis';
import type { CacheStore } from './store.js';

// Versions outlive values by far, so a value can never outlast the version that makes it stale.
const VERSION_TTL_SECONDS = 7 * 24 * 3600;

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

  async ping() {
    return (await this.redis.ping()) === 'PONG';
  }
}
