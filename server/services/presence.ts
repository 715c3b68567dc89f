import type { PresenceAnswer, PresenceEntry } from '../../shared/schemas.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import type { Knex } from '../db/knex.js';
import { NotFoundError } from '../errors.js';
import { findPresent } from '../repositories/checkins.js';
import { readHead } from '../repositories/events.js';
import { existingSiteIds } from '../repositories/sites.js';
import { createGroupCommitter } from '../groupCommit.js';
import { expectedAt } from './expected.js';

export type PresenceService = ReturnType<typeof createPresenceService>;

export type PresenceSnapshot = { seq: number; presence: Record<string, PresenceEntry[]> };

const MAX_SNAPSHOT_GROUP = 1000;

/**
 * Who is in at a site. Served from the cache; every committed punch, and every change to an employee's
 * name or active flag, invalidates the sites it touches before it is acknowledged, so a read
 * after either always sees it. Who is expected and not in is judged by `clock` (tests set it).
 */
export function createPresenceService(deps: { db: Knex; cache: Cache; longestShiftMs: number; clock: () => Date }) {
  const { db, cache, longestShiftMs, clock } = deps;

  const snapshots = createGroupCommitter<string[], PresenceSnapshot>(async (requests) => {
    const wanted = [...new Set(requests.flat())];
    const { seq, known, present } = await db.transaction(
      async (trx) => {
        const seq = await readHead(trx);
        const known = await existingSiteIds(trx, wanted);
        const present = new Map<string, PresenceEntry[]>();
        for (const id of wanted) if (known.has(id)) present.set(id, await findPresent(trx, id, longestShiftMs));
        return { seq, known, present };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
    const results = requests.map((siteIds) => {
      const missing = siteIds.find((id) => !known.has(id));
      if (missing) return new NotFoundError('site_not_found', `no site with id ${missing}`);
      return { seq, presence: Object.fromEntries(siteIds.map((id) => [id, present.get(id)!])) };
    });
    return { results };
  }, { maxBatch: MAX_SNAPSHOT_GROUP });

  async function atSite(siteId: string): Promise<PresenceEntry[]> {
    const present = await cache.getOrLoad(cacheKeys.presence(siteId), async () => {
      if (!(await existingSiteIds(db, [siteId])).has(siteId)) return undefined;
      return findPresent(db, siteId, longestShiftMs);
    });
    if (!present) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
    return present;
  }

  return {
    /** Who is in, and who is expected and not in (someone in since before their shift's window opened is in). */
    async overview(siteId: string): Promise<PresenceAnswer> {
      const data = await atSite(siteId);
      return { data, expected: await expectedAt(db, siteId, new Set(data.map((p) => p.employeeId)), clock()) };
    },

    /**
     * Presence at several sites and the seq it is as of, read in one consistent snapshot. Requests that
     * arrive while a snapshot is being read share the next one (a reconnect storm of thousands of
     * dashboards costs a handful of transactions, not one each); each is still read after it was asked for.
     */
    snapshot: async (siteIds: string[]): Promise<PresenceSnapshot> => {
      const [result] = await snapshots.submit([siteIds]);
      if (result instanceof Error) throw result;
      return result!;
    },
  };
}
