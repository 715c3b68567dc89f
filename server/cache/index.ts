import type { RepeatLog } from '../logger.js';
import type { Recorder } from '../metrics/index.js';
import type { CacheStore } from './store.js';

export { cacheKeys } from './keys.js';

export type Cache = {
  /** The cached value of key, else load() from the database and cache it. Cache failures fall back to load(). */
  getOrLoad<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** Call after the transaction that changed key's data commits. */
  invalidate(keys: string[]): Promise<void>;
  /**
   * The keys' current versions, each bumped by every invalidation: read before a database read, they
   * tell later whether anything it read has changed since. Null when that cannot be told (no store
   * that sees every writer, or the store is away).
   */
  versions(keys: string[]): Promise<string[] | null>;
  ping(): Promise<boolean>;
};

/** Redis being away costs reads a trip to PostgreSQL, never an answer; its failures are logged once per kind and interval. */
export function createCache(store: CacheStore, ttlSeconds: number, log: RepeatLog, metrics: Pick<Recorder, 'cache'>): Cache {
  return {
    async getOrLoad<T>(key: string, load: () => Promise<T | undefined>) {
      // A key's kind is its first part (cacheKeys): a few label values, whatever the ids.
      const kind = key.split(':', 1)[0]!;
      let version: string;
      try {
        const read = await store.read(key);
        if (read.cached && read.cached.version === read.version) {
          metrics.cache(kind, 'hit');
          return JSON.parse(read.cached.json) as T;
        }
        version = read.version;
      } catch (err) {
        metrics.cache(kind, 'miss');
        log('warn', `cache read: ${(err as Error).message}`, { err, key }, 'cache read failed; reading the database');
        return load();
      }
      metrics.cache(kind, 'miss');
      const value = await load();
      if (value !== undefined) {
        await store.write(key, version, JSON.stringify(value), ttlSeconds).catch((err) => {
          log('warn', `cache write: ${(err as Error).message}`, { err, key }, 'cache write failed');
        });
      }
      return value;
    },
    async invalidate(keys: string[]) {
      await Promise.all(
        keys.map((key) =>
          store
            .bump(key)
            .catch((err) => log('error', `cache bump: ${(err as Error).message}`, { err, key }, 'cache invalidation failed; entry may be stale until its TTL')),
        ),
      );
    },
    async versions(keys: string[]) {
      try {
        return await store.versions(keys);
      } catch (err) {
        log('warn', `cache versions: ${(err as Error).message}`, { err }, 'cache versions could not be read');
        return null;
      }
    },
    ping: () => store.ping(),
  };
}
