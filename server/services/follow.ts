import { reaches, type Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { NotFoundError } from '../errors.js';
import type { HubEvent } from '../events/event.js';
import type { EventStream } from '../events/stream.js';
import type { Recorder } from '../metrics/index.js';
import { existingSiteIds } from '../repositories/sites.js';
import type { FeedService } from './feed.js';
import { replayPages } from './replay.js';

export type FollowService = ReturnType<typeof createFollowService>;

/** Where a follower's events go (an HTTP event stream): it knows nothing of how they are found. */
export type Reader = {
  /** Events in seq order, to be sent now. */
  send(events: HubEvent[]): void;
  /** Resolves when the reader can take more: a replay reads its next page only then. */
  room(): Promise<void>;
  /** The hub lets go of the reader; it resumes after the last seq it got. */
  end(): void;
};

export type Following = {
  /** The seq the reader is placed after: its `since`, or without one this node's head. */
  from: number;
  /** Replays what is owed, then goes live; resolves once live. */
  run(): Promise<void>;
  stop(): void;
};

/**
 * Replay-then-live for readers that are not sockets. A reader is placed after its `since` (without
 * one, after this node's head) and handed every event in reach that matches its sites, in seq order,
 * exactly once: the events this node's stream has delivered are read from PostgreSQL, a page at a
 * time as the reader takes them, until the replay has caught up with the stream; in the same tick as
 * that check the reader goes live. So nothing is held for a reader while it replays, however slowly
 * it reads, and nothing falls between the replay and the live events or is in both.
 */
export function createFollowService(deps: { db: Knex; feed: Pick<FeedService, 'matching'>; stream: EventStream; metrics: Pick<Recorder, 'replayPage'> }) {
  const { db, stream, metrics } = deps;
  const matching: FeedService['matching'] = async (q) => {
    const page = await deps.feed.matching(q);
    metrics.replayPage();
    return page;
  };
  const live = new Set<(events: HubEvent[]) => void>();
  const readers = new Set<Reader>();
  stream.subscribe((events) => {
    for (const take of live) take(events);
  });
  // This node went on past events it had not delivered, which were pruned: a reader may have missed
  // some. Each resumes after its last seq, and is told since_pruned if that is what happened.
  stream.onSkip(() => {
    for (const reader of [...readers]) reader.end();
  });

  return {
    /** Readers being replayed to or live: each is let go when it stops. */
    followers: () => readers.size,
    /**
     * Places the reader: unknown sites are `site_not_found`, and a `since` older than what is kept
     * throws SincePrunedError, both before the reader has been sent anything.
     */
    async follow(q: { since?: number; sites?: string[]; within: Scope }, reader: Reader): Promise<Following> {
      const { since, within } = q;
      if (q.sites) {
        const known = await existingSiteIds(db, q.sites);
        const missing = q.sites.find((s) => !known.has(s));
        if (missing) throw new NotFoundError('site_not_found', `no site with id ${missing}`);
      }
      const sites = q.sites && new Set(q.sites);
      const from = since ?? stream.delivered;
      let upTo = stream.delivered;
      let pages = replayPages(matching, { after: from, upTo, sites: q.sites, within });
      let page = await pages.next();

      let stopped = false;
      let position = from;
      const take = (events: HubEvent[]) => {
        const due = events.filter((e) => e.seq > position && reaches({ sites: within }, e.siteId) && (!sites || sites.has(e.siteId!)));
        if (!due.length) return;
        position = due.at(-1)!.seq;
        reader.send(due);
      };

      return {
        from,
        async run() {
          if (stopped) return;
          readers.add(reader);
          let covered = from;
          for (;;) {
            for (; !page.done; page = await pages.next()) {
              if (stopped) return;
              reader.send(page.value);
              await reader.room();
            }
            if (stopped) return;
            // From here to going live nothing is awaited: every event the stream has delivered is
            // either replayed or, once `take` listens, comes live.
            covered = Math.max(covered, upTo);
            upTo = stream.delivered;
            if (covered >= upTo) {
              position = covered;
              live.add(take);
              return;
            }
            pages = replayPages(matching, { after: covered, upTo, sites: q.sites, within });
            page = await pages.next();
          }
        },
        stop() {
          stopped = true;
          live.delete(take);
          readers.delete(reader);
        },
      };
    },
  };
}
