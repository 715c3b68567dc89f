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
// How long a snapshot may be handed out again while nothing it read has changed. Short: a subscriber
// is replayed the events after the snapshot's seq, and those should be few.
export const SNAPSHOT_REUSE_MS = 1000;

/** One consistent read of presence at some sites: the head seq, which sites exist, who is in at each. */
export type SnapshotRead = { seq: number; known: Set<string>; present: Map<string, PresenceEntry[]> };
/** A read kept to be handed out again: its sites' cache versions from before it, and until when it holds. */
export type KeptSnapshot = { read: SnapshotRead; versions: Map<string, string>; until: number };

/**
 * Keep a read of `wanted` whose cache versions (read before it, at `before`) were `versions`. It holds
 * for SNAPSHOT_REUSE_MS at most, and not past the moment its earliest entry leaves the window of the
 * longest shift (then that person is no longer in, though nothing was written).
 */
export function keep(read: SnapshotRead, wanted: string[], versions: string[], before: number, longestShiftMs: number): KeptSnapshot {
  let until = before + SNAPSHOT_REUSE_MS;
  for (const entries of read.present.values()) for (const p of entries) until = Math.min(until, Date.parse(p.since) + longestShiftMs);
  return { read, versions: new Map(wanted.map((id, i) => [id, versions[i]!])), until };
}

/**
 * The kept read, if it answers `wanted` as a read now would: it read every one of those sites, none of
 * their versions has moved since (every punch, void and change to an employee bumps its site's before
 * it is acknowledged), and its time is not up. Else null: read again.
 */
export function stillHolds(kept: KeptSnapshot, wanted: string[], versions: string[], now: number): SnapshotRead | null {
  if (now >= kept.until) return null;
  return wanted.every((id, i) => kept.read.known.has(id) && kept.versions.get(id) === versions[i]) ? kept.read : null;
}

/**
 * Who is in at a site. Served from the cache; every committed punch, and every change to an employee's
 * name or active flag, invalidates the sites it touches before it is acknowledged, so a read
 * after either always sees it. Who is expected and not in is judged by `clock` (tests set it).
 */
export function createPresenceService(deps: { db: Knex; cache: Cache; longestShiftMs: number; clock: () => Date }) {
  const { db, cache, longestShiftMs, clock } = deps;

  const read = (wanted: string[]): Promise<SnapshotRead> =>
    db.transaction(
      async (trx) => {
        const seq = await readHead(trx);
        const known = await existingSiteIds(trx, wanted);
        const present = new Map<string, PresenceEntry[]>();
        for (const id of wanted) if (known.has(id)) present.set(id, await findPresent(trx, id, longestShiftMs));
        return { seq, known, present };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  // The last read, handed out again while it holds (stillHolds): a reconnect storm of thousands of
  // subscribes then reads PostgreSQL a few times, not once per batch.
  let kept: KeptSnapshot | null = null;

  const snapshots = createGroupCommitter<string[], PresenceSnapshot>(async (requests) => {
    const wanted = [...new Set(requests.flat())];
    const versions = await cache.versions(wanted.map(cacheKeys.presence));
    const now = Date.now();
    let snapshot = versions && kept && stillHolds(kept, wanted, versions, now);
    if (!snapshot) {
      snapshot = await read(wanted);
      kept = versions && keep(snapshot, wanted, versions, now, longestShiftMs);
    }
    const { seq, known, present } = snapshot;
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
     * dashboards costs a handful of transactions, not one each), or the one before while nothing it
     * read has changed; either way it reflects every write acknowledged before it was asked for.
     */
    snapshot: async (siteIds: string[]): Promise<PresenceSnapshot> => {
      const [result] = await snapshots.submit([siteIds]);
      if (result instanceof Error) throw result;
      return result!;
    },
  };
}
