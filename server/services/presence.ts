import type { PresenceEntry } from '../../shared/schemas.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import type { Knex } from '../db/knex.js';
import { NotFoundError } from '../errors.js';
import { findPresent } from '../repositories/checkins.js';
import { readHead } from '../repositories/events.js';
import { existingSiteIds } from '../repositories/sites.js';

export type PresenceService = ReturnType<typeof createPresenceService>;

/**
 * Who is in at a site. Served from the cache; every committed punch invalidates the sites it touches
 * before it is acknowledged, so a read after a check-in always sees it.
 */
export function createPresenceService(deps: { db: Knex; cache: Cache; longestShiftMs: number }) {
  const { db, cache, longestShiftMs } = deps;
  return {
    async atSite(siteId: string): Promise<PresenceEntry[]> {
      const present = await cache.getOrLoad(cacheKeys.presence(siteId), async () => {
        if (!(await existingSiteIds(db, [siteId])).has(siteId)) return undefined;
        return findPresent(db, siteId, longestShiftMs);
      });
      if (!present) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
      return present;
    },

    /** Presence at several sites and the seq it is as of, read in one consistent snapshot. */
    async snapshot(siteIds: string[]): Promise<{ seq: number; presence: Record<string, PresenceEntry[]> }> {
      return db.transaction(
        async (trx) => {
          const seq = await readHead(trx);
          const known = await existingSiteIds(trx, siteIds);
          const missing = siteIds.find((id) => !known.has(id));
          if (missing) throw new NotFoundError('site_not_found', `no site with id ${missing}`);
          const presence: Record<string, PresenceEntry[]> = {};
          for (const id of siteIds) presence[id] = await findPresent(trx, id, longestShiftMs);
          return { seq, presence };
        },
        { isolationLevel: 'repeatable read', readOnly: true },
      );
    },
  };
}
