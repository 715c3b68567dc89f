import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { Logger } from '../logger.js';
import type { RedisClients } from '../redis.js';
import type { HubEvent } from '../repositories/events.js';

/** Between hub nodes, over the Redis adapter: the events a node has just committed. */
export interface InterServerEvents {
  'hub:events': (events: HubEvent[]) => void;
}

/** Per-socket state: events held back while a replay is being sent. */
export interface SocketData {
  replay: { queue: HubEvent[] } | null;
}

export type HubIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * Socket.IO for the hub's HTTP server, not yet attached: attached last (hub.ts), it takes its own path
 * (/socket.io/) from the REST app's request handler, so the two never both answer one request. With Redis, the classic adapter links the nodes: one pub/sub
 * channel carries each committed batch to every node (serverSideEmit), and each node delivers to its
 * own sockets. The sharded adapter (SSUBSCRIBE, Redis 7) spreads per-room channels over a Redis
 * Cluster; the hub broadcasts one message per batch to all nodes, so it would gain nothing here.
 */
export function createRealtime(deps: { logger: Logger; redis: RedisClients | null; prefix: string }): HubIo {
  const io: HubIo = new Server({
    transports: ['websocket', 'polling'],
    // Compression costs tens of KB per socket; events are small.
    perMessageDeflate: false,
    serveClient: false,
  });
  if (deps.redis) {
    io.adapter(createAdapter(deps.redis.pub, deps.redis.sub, { key: `${deps.prefix}:socket.io` }));
    io.of('/').adapter.on('error', (err: Error) => deps.logger.error({ err: err.message }, 'socket.io redis adapter error'));
  }
  return io;
}

/**
 * Attach to the HTTP server once its REST handler is in place: Socket.IO wraps the request handlers
 * already there and keeps its own path (/socket.io/) to itself.
 */
export function attachRealtime(io: HubIo, server: HttpServer): void {
  io.attach(server);
  // The handshake request holds buffers and headers for the socket's whole life; nothing reads it later.
  io.engine.on('connection', (raw: { request: unknown }) => {
    raw.request = null;
  });
}
