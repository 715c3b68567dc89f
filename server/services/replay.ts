import type { Scope } from '../auth/actor.js';
import type { HubEvent } from '../events/event.js';
import type { FeedService } from './feed.js';

/** What a reader is owed from PostgreSQL: its matching events in (after, upTo]. */
export type ReplayRange = { after: number; upTo: number; sites?: string[]; employees?: string[]; within: Scope };

export const REPLAY_PAGE = 500;

/**
 * A reader's replay, a page at a time, for sockets and event streams alike. The first page is read by
 * the first next(): a `since` older than what is kept throws SincePrunedError there, before the
 * reader is told anything; an empty range reads nothing. A page is read only when the one before is
 * taken, so a reader that takes its time holds one page, not the whole replay.
 */
export async function* replayPages(matching: FeedService['matching'], range: ReplayRange, pageSize = REPLAY_PAGE): AsyncGenerator<HubEvent[]> {
  for (let after = range.after; after < range.upTo; ) {
    const page = await matching({ ...range, after, limit: pageSize });
    if (page.length) yield page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.seq;
  }
}
