import type { Server as HttpServer } from 'node:http';
import { createAdapter as createClusterAdapter } from '@socket.io/cluster-adapter';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { Logger } from '../logger.js';
import type { RedisClients } from '../redis.js';
import type { Actor } from '../auth/actor.js';
import type { Presented } from '../auth/authenticate.js';
import type { Revoked } from '../auth/revocations.js';
import type { HubEvent } from '../events/event.js';

/** Between hub nodes, over the Redis adapter: the events a node has just committed, and revocations. */
export interface InterServerEvents {
  'hub:events': (events: HubEvent[]) => void;
  'hub:revoked': (revoked: Revoked[]) => void;
}

/**
 * Per-socket state: who it is (set in the handshake), how it takes events, and events held back while
 * a replay is being sent. Set whole in the handshake, so every socket's data has one shape.
 */
export interface SocketData {
  actor: Actor;
  /** The client's address (behind trusted proxies, the one they report), for per-address limits and the audit log. */
  ip: string;
  packed: boolean;
  /** What it authenticated with, checked again now and then: it may be revoked or expire. */
  presented: Presented;
  replay: { queue: HubEvent[] } | null;
  /**
   * A client that resumed on a node whose stream had not yet reached its `since` holds the events up to
   * it already: they are not sent again when this node's stream delivers them.
   */
  heldThrough: number;
  /** Events this socket may still send now, and when that was reckoned (see eventAdmission). */
  allowance: number;
  allowanceAt: number;
}

export type HubIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type HubSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * Socket.IO for the hub's HTTP server, not yet attached (see attachRealtime). With Redis, the classic
 * adapter links the nodes: one pub/sub channel carries each committed batch to every node
 * (serverSideEmit), and each node delivers to its own sockets. The sharded adapter (SSUBSCRIBE, Redis
 * 7) spreads per-room channels over a Redis Cluster; the hub broadcasts one message per batch to all
 * nodes, so it would gain nothing here. Browsers may connect from CORS_ORIGINS only.
 */
export function createRealtime(deps: {
  logger: Logger;
  redis: RedisClients | null;
  /** A worker of a cluster without Redis: the workers link through the primary instead. */
  clustered: boolean;
  prefix: string;
  corsOrigins: readonly string[];
  maxPayloadBytes: number;
}): HubIo {
  const io: HubIo = new Server({
    transports: ['websocket', 'polling'],
    // Compression costs tens of KB per socket; events are small.
    perMessageDeflate: false,
    serveClient: false,
    maxHttpBufferSize: deps.maxPayloadBytes,
    cors: { origin: [...deps.corsOrigins], credentials: true },
  });
  if (deps.redis) {
    io.adapter(createAdapter(deps.redis.pub, deps.redis.sub, { key: `${deps.prefix}:socket.io` }));
    io.of('/').adapter.on('error', (err: Error) => deps.logger.error({ err: err.message }, 'socket.io redis adapter error'));
  } else if (deps.clustered) {
    io.adapter(createClusterAdapter());
  }
  return io;
}

/**
 * Attach to the HTTP server once its REST handler is in place: Socket.IO wraps the request handlers
 * already there and keeps its own path (/socket.io/) to itself.
 */
export function attachRealtime(io: HubIo, server: HttpServer): void {
  io.attach(server);
  // The handshake request holds buffers and headers for the socket's whole life; once the socket is
  // authenticated (io.use reads its headers) and connected, nothing reads them again.
  io.on('connection', (socket) => {
    (socket.conn as unknown as { request: unknown }).request = null;
    socket.handshake.headers = {};
  });
}

// Announcements waiting on a Redis that does not answer (frozen, not disconnected) are bounded: past
// this many, the node stops announcing and the other nodes read what they missed from PostgreSQL.
const MAX_UNANSWERED_PUBLISHES = 1000;

/**
 * Tell the other nodes about committed events, while Redis is there to carry them. The adapter never
 * awaits its publishes, so nothing is sent that Redis could only queue: the other nodes catch up from
 * PostgreSQL instead.
 */
export function announcer<E extends keyof InterServerEvents>(io: HubIo, pub: RedisClients['pub'], event: E) {
  return (...args: Parameters<InterServerEvents[E]>) => {
    if (pub.status === 'ready' && pub.commandQueue.length < MAX_UNANSWERED_PUBLISHES) io.serverSideEmit(event, ...args);
  };
}
