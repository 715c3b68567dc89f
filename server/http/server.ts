import http from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config.js';

/**
 * The node's HTTP server, every wait a client can impose bounded: headers, the whole request, idle
 * keep-alive connections, requests per connection, and the number of open connections. Node checks
 * its timeouts on an interval (30 s by default); a second keeps the bounds close to what they say.
 */
export function createHttpServer(config: Config): { server: http.Server; connections: () => number } {
  const server = http.createServer({
    headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: Math.min(1000, config.HTTP_HEADERS_TIMEOUT_MS),
  });
  server.maxRequestsPerSocket = config.HTTP_MAX_REQUESTS_PER_SOCKET;
  return { server, connections: capConnections(server, config.MAX_CONNECTIONS) };
}

const REFUSAL_BODY = JSON.stringify({ error: { code: 'overloaded', message: 'this node has too many open connections; retry shortly' } });
const REFUSAL = [
  'HTTP/1.1 503 Service Unavailable',
  'Content-Type: application/json; charset=utf-8',
  `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}`,
  'Retry-After: 1',
  'Connection: close',
  '',
  REFUSAL_BODY,
].join('\r\n');
// Long enough for the client to finish sending and read the refusal; closing on unread input would reset it.
const REFUSAL_LINGER_MS = 2000;

/**
 * Past `max` open connections a new one is answered 503 `overloaded` and closed, before HTTP reads
 * anything from it: a flood of idle or slow connections cannot use up the process's file descriptors,
 * and a real client hears why instead of waiting (Node's own maxConnections drops it silently).
 * Node's HTTP server handles connections in its 'connection' listener; the cap goes in front of it.
 */
function capConnections(server: http.Server, max: number): () => number {
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= max) return refuse(socket);
    open++;
    socket.once('close', () => open--);
    for (const handle of handlers) handle.call(server, socket);
  });
  // Counted here because a cluster's workers are handed their connections: net.Server never sees them.
  return () => open;
}

function refuse(socket: Socket): void {
  socket.on('error', () => undefined);
  socket.resume();
  socket.end(REFUSAL);
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}
