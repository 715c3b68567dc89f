import type { Logger } from '../logger.js';
import type { CacheStore } from './store.js';

export { cacheKeys } from './keys.js';

export type Cache = {
  /** The cached value of key, else load() from the database and cache it. Cache failures fall back to load(). */
  getOrLoad<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** Call after the transaction that changed key's data commits. */
  invalidate(keys: string[]): Promise<void>;
  ping(): Promise<boolean>;
};

export function createCache(store: CacheStore, ttlSeconds: number, logger: Logger): Cache {
  return {
    async getOrLoad<T>(key: string, load: () => Promise<T | undefined>) {
      let version: string;
      try {
        const read = await store.read(key);
        if (read.cached && read.cached.version === read.version) return JSON.parse(read.cached.json) as T;
        version = read.version;
      } catch (err) {
        logger.warn({ err, key }, 'cache read failed; reading the database');
        return load();
      }
      const value = await load();
      if (value !== undefined) {
        await store.write(key, version, JSON.stringify(value), ttlSeconds).catch((err) => {
          logger.warn({ err, key }, 'cache write failed');
        });
      }
      return value;
    },
    async invalidate(keys: string[]) {
      await Promise.all(
        keys.map((key) =>
          store.bump(key).catch((err) => logger.error({ err, key }, 'cache invalidation failed; entry may be stale until its TTL')),
        ),
      );
    },
    ping: () => store.ping(),
  };
}
