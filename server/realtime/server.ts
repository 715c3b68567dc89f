import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { Logger } from '../logger.js';
import type { RedisClients } from '../redis.js';

export type HubIo = Server<ClientToServerEvents, ServerToClientEvents>;

/** Socket.IO on the hub's HTTP server; with Redis, the adapter carries every broadcast to the other nodes. */
export function createRealtime(http: HttpServer, deps: { logger: Logger; redis: RedisClients | null; prefix: string }): HubIo {
  const io: HubIo = new Server(http, {
    transports: ['websocket', 'polling'],
    // Compression costs tens of KB per socket; events are small.
    perMessageDeflate: false,
    serveClient: false,
  });
  if (deps.redis) {
    io.adapter(createAdapter(deps.redis.pub, deps.redis.sub, { key: `${deps.prefix}:socket.io` }));
    io.of('/').adapter.on('error', (err: Error) => deps.logger.error({ err: err.message }, 'socket.io redis adapter error'));
  }
  // The handshake request holds buffers and headers for the socket's whole life; nothing reads it later.
  io.engine.on('connection', (raw: { request: unknown }) => {
    raw.request = null;
  });
  return io;
}
