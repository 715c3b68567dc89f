/**
 * The baseline node (a child of main.ts): plain Socket.IO with its defaults and the Redis adapter, no
 * hub. `POST /emit` broadcasts what the hub sends for one toggle to the site's room.
 *
 *   node --import tsx bench/broadcast/bare.ts --port <port> --prefix <redis key prefix>   (REDIS_URL from the environment)
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';

const { values: flags } = parseArgs({ options: { port: { type: 'string', default: '0' }, prefix: { type: 'string', default: 'bench' } } });

/** What this node broadcast: [n, site] per check-in, so expectations hold even for requests the load generator gave up on. */
const emitted: Array<[number, string]> = [];
const pub = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const sub = pub.duplicate();

// Added before Socket.IO attaches, so Socket.IO passes on whatever is not its own.
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') return void res.end('ok');
  if (req.method !== 'POST' || req.url !== '/emit') {
    res.statusCode = 404;
    return void res.end();
  }
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (text += c));
  req.on('end', () => {
    const { n, siteId: site, employeeId, deviceId } = JSON.parse(text) as { n: number; siteId: string; employeeId: string; deviceId: string };
    // The same two events the hub sends per toggle, in one message as the hub sends them, stamped at
    // the emit as the hub stamps at its transaction. (Not grouped across check-ins: no commit groups here.)
    const now = new Date().toISOString();
    io.to(`site:${site}`).emit('events', [
      {
        seq: 2 * n - 1,
        name: 'checkin.recorded',
        siteId: site,
        employeeId,
        payload: { eventId: randomUUID(), employeeId, siteId: site, deviceId, type: 'in', occurredAt: now, recordedAt: now },
      },
      { seq: 2 * n, name: 'presence.changed', siteId: site, employeeId, payload: { siteId: site, employeeId, present: true, since: now } },
    ]);
    emitted.push([n, site]);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { siteId: site } }));
  });
});

// Socket.IO's defaults; only the per-run key differs.
const io = new Server<ClientToServerEvents, ServerToClientEvents>(server, { serveClient: false });
io.adapter(createAdapter(pub, sub, { key: `${flags.prefix}:socket.io` }));
io.on('connection', (socket) => {
  socket.on('subscribe', (request, ack) => {
    void socket.join((request?.sites ?? []).map((s) => `site:${s}`));
    if (typeof ack === 'function') ack({ ok: true, seq: 0, presence: {} });
  });
});
server.listen(Number(flags.port), '127.0.0.1');

const stop = () => {
  io.close();
  void Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('disconnect', stop);
// The driver asks what was broadcast after a point: check-ins with n > fromN, by site.
process.on('message', (msg: { op: 'emitted'; fromN: number }) => {
  const bySite: Record<string, number> = {};
  for (const [n, site] of emitted) if (n > msg.fromN) bySite[site] = (bySite[site] ?? 0) + 1;
  process.send!({ emitted: bySite });
});
