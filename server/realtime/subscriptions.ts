import { SubscribeRequest, type SubscribeAck } from '../../shared/schemas.js';
import { SincePrunedError, toAppError, UnavailableError, ValidationError } from '../errors.js';
import type { RepeatLog } from '../logger.js';
import type { HubEvent } from '../events/event.js';
import type { EventStream } from '../events/stream.js';
import type { Recorder } from '../metrics/index.js';
import type { FeedService } from '../services/feed.js';
import type { PresenceService } from '../services/presence.js';
import { replayPages } from '../services/replay.js';
import { fieldIssues } from '../validate.js';
import { authorize, policies } from '../policies/index.js';
import { payloadAndAck } from './args.js';
import { send } from './delivery.js';
import { REPLAYING, roomsForFilter } from './rooms.js';
import type { Admit } from './auth.js';
import type { HubIo, HubSocket } from './server.js';

/**
 * `subscribe` replaces the socket's filters (none: every event in reach; else the union of its sites
 * and employees; a site out of reach is refused `forbidden`, and employees' events are delivered only
 * where they happen at a site in reach). The socket joins its rooms at once, holding live events back; the ack carries a presence
 * snapshot and the seq it is as of; then every matching event after `since` (or after the snapshot)
 * is replayed from PostgreSQL up to what this node has delivered, the held-back events follow, and
 * the socket is live: no hole and no duplicate at the seam. A `since` older than the events kept
 * (EVENT_RETENTION_DAYS) is answered `since_pruned` instead: the client starts afresh from a snapshot.
 */
export function handleSubscriptions(
  io: HubIo,
  deps: { feed: FeedService; presence: PresenceService; stream: EventStream; log: RepeatLog; metrics: Pick<Recorder, 'replayPage' | 'delivered'>; admit: Admit },
) {
  const { presence, stream, log, metrics, admit } = deps;
  // Every page a replay reads from PostgreSQL is counted, wherever the replay reads it.
  const feed = {
    matching: (q: Parameters<FeedService['matching']>[0]) =>
      deps.feed.matching(q).then((page) => {
        metrics.replayPage();
        return page;
      }),
  };

  // This node went on past events it had not delivered, which were pruned: its subscribers may have
  // missed some. Dropping their connections (not a disconnect, which clients take as final) makes
  // each client resume from its last seq, be told since_pruned and start afresh.
  stream.onSkip(() => {
    for (const socket of io.of('/').sockets.values()) if (socket.rooms.size > 1) socket.conn.close();
  });

  // Leaves every room but the socket's own and drops any replay under way: a subscribe still in
  // flight sees its replay is no longer the socket's, and answers superseded.
  const reset = (socket: HubSocket) => {
    socket.data.replay = null;
    for (const room of socket.rooms) if (room !== socket.id) socket.leave(room);
  };

  // One handler for every socket (`this` is the socket), not a closure each: idle dashboards are many.
  async function onSubscribe(this: HubSocket, ...args: unknown[]) {
    const socket = this;
    const { payload, ack } = payloadAndAck<SubscribeAck>(args);
    if (!ack || !admit(socket, ack)) return;
    const parsed = SubscribeRequest.safeParse(payload ?? {});
    if (!parsed.success) {
      ack({ ok: false, error: new ValidationError(fieldIssues(parsed.error), 'subscribe request is invalid').body() });
      return;
    }
    const { actor } = socket.data;
    const { employees, since, packed = false } = parsed.data;
    try {
      authorize(actor, policies.events, 'subscribe', ...(parsed.data.sites ?? []));
    } catch (err) {
      return ack({ ok: false, error: toAppError(err).body() });
    }
    // Without a filter, everything in reach: every event for an admin, its sites' for anyone else.
    const sites = parsed.data.sites ?? (employees === undefined && actor.sites !== 'all' ? [...actor.sites] : undefined);
    reset(socket);
    socket.data.packed = packed;
    // A later subscribe (or an unsubscribe) on this socket replaced this one before it was answered: it still gets an answer.
    const replay: { queue: HubEvent[] } = { queue: [] };
    const replaced = () => socket.data.replay !== replay;
    const superseded = () => ack({ ok: false, error: { code: 'superseded', message: 'a later subscribe on this socket replaced this one' } });
    socket.data.replay = replay;
    socket.data.heldThrough = since ?? 0;
    socket.join([REPLAYING, ...roomsForFilter({ sites, employees })]);
    const upTo = stream.delivered;
    let answered = false;
    try {
      const snapshot = await presence.snapshot(sites ?? []);
      if (replaced()) return superseded();
      const from = since ?? Math.min(snapshot.seq, upTo);
      const pages = replayPages(feed.matching, { after: from, upTo, sites, employees, within: actor.sites });
      // The first page before the ack: it finds out whether everything after `since` is still kept.
      let page = await pages.next();
      if (replaced()) return superseded();
      // seq: without `since`, what the snapshot is as of (events after it follow); with it, this node's head.
      ack({ ok: true, seq: since === undefined ? from : upTo, presence: snapshot.presence });
      answered = true;
      while (!page.done) {
        send(io.local.to(socket.id), page.value, packed);
        metrics.delivered(page.value.length, 'replay');
        page = await pages.next();
        if (replaced()) return;
      }
      // Synchronously: send what was held back, then go live.
      if (replay.queue.length) send(io.local.to(socket.id), replay.queue, packed);
      metrics.delivered(replay.queue.length, 'live');
      socket.data.replay = null;
      socket.leave(REPLAYING);
    } catch (err) {
      if (replaced()) return superseded();
      reset(socket);
      // Without `since` nothing asked is too old: this node is behind what is kept, and goes on past it shortly.
      const error = err instanceof SincePrunedError && since === undefined ? new UnavailableError() : toAppError(err);
      if (error.status >= 500) log(error.status === 503 ? 'warn' : 'error', `subscribe:${error.code}:${(err as Error)?.message}`, { err }, 'subscribe failed');
      // A replay that broke after the ack (a page pruned meanwhile, PostgreSQL away) can only be told
      // by dropping the connection: the client resumes from its last seq.
      if (answered) return void socket.conn.close();
      // Whatever broke, the client's move is the same: subscribe again shortly.
      ack({ ok: false, error: error.status >= 500 ? new UnavailableError('could not subscribe; try again').body() : error.body() });
    }
  }

  function onUnsubscribe(this: HubSocket, ...args: unknown[]) {
    const { ack } = payloadAndAck<{ ok: true }>(args);
    if (!admit(this, ack)) return;
    reset(this);
    ack?.({ ok: true });
  }

  io.on('connection', (socket) => {
    socket.on('subscribe', onSubscribe);
    socket.on('unsubscribe', onUnsubscribe);
  });
}
