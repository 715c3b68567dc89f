/**
 * A versioned cache entry store. Each key has a version that writers bump after they commit; a value is
 * stored tagged with the version its reader saw before reading the database, and only if that version
 * is still current. So a reader that raced a writer can never put back the value the writer replaced.
 */
export interface CacheStore {
  /** Current version of key and the cached JSON, if any, tagged with the version it was read under. */
  read(key: string): Promise<{ version: string; cached: { version: string; json: string } | null }>;
  /** Store json under key only if key's version still equals version. */
  write(key: string, version: string, json: string, ttlSeconds: number): Promise<void>;
  /** Make every cached value of key stale. */
  bump(key: string): Promise<void>;
  /** The current versions of keys; null where this store cannot see every writer's bumps. */
  versions(keys: string[]): Promise<string[] | null>;
  ping(): Promise<boolean>;
}

/**
 * Keeps nothing: for workers of one node without Redis, whose memories could not see each other's
 * invalidations (a read after a write on another worker must see it).
 */
export class NoStore implements CacheStore {
  async read() {
    return { version: '0', cached: null };
  }
  async write() {}
  async bump() {}
  async versions() {
    return null;
  }
  async ping() {
    return true;
  }
}

export class MemoryStore implements CacheStore {
  private bumps = new Map<string, number>();
  private values = new Map<string, { version: string; json: string; expires: number }>();

  async read(key: string) {
    const version = String(this.bumps.get(key) ?? 0);
    const hit = this.values.get(key);
    if (hit && hit.expires <= Date.now()) this.values.delete(key);
    const live = this.values.get(key);
    return { version, cached: live ? { version: live.version, json: live.json } : null };
  }

  async write(key: string, version: string, json: string, ttlSeconds: number) {
    if (String(this.bumps.get(key) ?? 0) !== version) return;
    this.values.set(key, { version, json, expires: Date.now() + ttlSeconds * 1000 });
  }

  async bump(key: string) {
    this.bumps.set(key, (this.bumps.get(key) ?? 0) + 1);
    this.values.delete(key);
  }

  async versions(keys: string[]) {
    return keys.map((key) => String(this.bumps.get(key) ?? 0));
  }

  async ping() {
    return true;
  }
}
