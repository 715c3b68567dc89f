import { cacheKeys, type Cache } from '../../cache/index.js';
import { isUnavailable } from '../../db/errors.js';
import type { Knex } from '../../db/knex.js';
import { present } from '../../events/event.js';
import type { Publisher } from '../../events/publisher.js';
import { createGroupCommitter } from '../../groupCommit.js';
import type { Recorder } from '../../metrics/index.js';
import { createLedgerStore } from '../../repositories/ledger.js';
import { commitGroup } from './commit.js';
import type { GroupItem, ItemResult } from './judge.js';
import { createKnownState } from './known.js';

export type { Authority, GroupItem, ItemResult, Punch, PunchResult } from './judge.js';

export type Ledger = ReturnType<typeof createLedger>;

const MAX_GROUP = 1000;

/**
 * The one path by which anything gets a seq: check-ins and the older API's records alike are
 * submitted here, and what arrives together commits together (group commit: one transaction, one
 * fsync and one hold of the seq lock for many requests). Each submitter hears only after its group
 * committed, the caches it touched were invalidated, and its events were published.
 */
export function createLedger(deps: { db: Knex; cache: Cache; publisher: Publisher; longestShiftMs: number; metrics: Pick<Recorder, 'groupCommit'> }) {
  const { cache, publisher, longestShiftMs, metrics } = deps;
  const store = createLedgerStore(deps.db);
  const known = createKnownState();
  const committer = createGroupCommitter<GroupItem, ItemResult>(
    async (items) => {
      const { results, write, sites, recordsOf } = await commitGroup(store, items, longestShiftMs, known);
      return {
        results,
        // Committed: make reads see it before anyone is told, then tell the dashboards.
        after: async () => {
          await cache.invalidate([...[...sites].map(cacheKeys.presence), ...[...recordsOf].map(cacheKeys.latestRecord)]);
          publisher.publish(write.events.map(present));
        },
      };
    },
    // A group that fails for a reason other than the database being away is retried apart, so an
    // item PostgreSQL refuses fails alone and the rest of its group is stored; one that fails because
    // the database is away fails the items waiting behind it at once.
    { maxBatch: MAX_GROUP, idle: store.release, retryApart: (err) => !isUnavailable(err), failWaiting: isUnavailable, observe: metrics.groupCommit },
  );
  return {
    /** Commit the items together; one result (or Error) per item, in order. */
    submit: committer.submit,
    /** Every committed event, this node's and others', in seq order: keeps what this node knows current. */
    observe: known.observe,
    drain: () => committer.drain(),
  };
}
