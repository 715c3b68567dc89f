import type { HubEvent } from './event.js';

export type Publisher = {
  /** Committed events, in seq order; call only after the commit. */
  publish(events: HubEvent[]): void;
};

/** Test seams for failure drills: drop a publish to act out a node that dies between commit and publish. */
export type Faults = { dropPublish?: () => boolean };

/**
 * Where committed events go from the one place that commits them (the ledger): to this node's own
 * listeners (its event stream) and, through `announce`, to the other nodes. Losing an announcement
 * loses nothing: every node's stream fills holes from PostgreSQL.
 */
export function createPublisher(deps: { announce?: (events: HubEvent[]) => void; faults?: Faults }) {
  const listeners: Array<(events: HubEvent[]) => void> = [];
  return {
    publish(events: HubEvent[]) {
      if (!events.length || deps.faults?.dropPublish?.()) return;
      for (const listener of listeners) listener(events);
      deps.announce?.(events);
    },
    /** This node's own commits, as they are published. */
    onPublish(listener: (events: HubEvent[]) => void) {
      listeners.push(listener);
    },
  };
}
