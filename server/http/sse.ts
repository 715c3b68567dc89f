import type { Context } from 'koa';
import type { Authenticator } from '../auth/authenticate.js';
import { lapsed } from '../auth/recheck.js';
import { revokes, type Revocations } from '../auth/revocations.js';
import { AppError, toAppError, UnavailableError } from '../errors.js';
import type { HubEvent } from '../events/event.js';
import type { RepeatLog } from '../logger.js';
import { credentialKey } from '../middleware/rateLimit.js';
import type { HubState } from '../routes/state.js';
import type { Following, Reader } from '../services/follow.js';

export type SseLimits = { perCredential: number; heartbeatMs: number; maxBufferedBytes: number; recheckMs: number };
export type Sse = ReturnType<typeof createSse>;

// An event's frame is made once, however many streams it goes to (they are handed the same objects).
const frames = new WeakMap<HubEvent, string>();
function frame(e: HubEvent): string {
  let text = frames.get(e);
  if (text === undefined) {
    // JSON never holds a raw line break, so the envelope is one data line.
    text = `id: ${e.seq}\nevent: ${e.name}\ndata: ${JSON.stringify(e)}\n\n`;
    frames.set(e, text);
  }
  return text;
}

// The first message: where the stream is placed. It has data so that every client takes its id.
const ready = (seq: number) => `id: ${seq}\nevent: ready\ndata: {"seq":${seq}}\n\n`;
const PING = ': ping\n\n';

type Open = { state: HubState; end(): void; write(text: string): void };

/**
 * Server-Sent Events responses: a `ready` message whose id is where the stream is placed, then each
 * event with its seq as id, and a comment line every heartbeatMs so that proxies keep a quiet stream.
 * Koa steps aside (ctx.respond = false) once the follower is placed, so a refusal before that
 * (since_pruned, a site unknown) is an ordinary JSON error. At most perCredential streams per
 * credential on this node; a reader that leaves more than maxBufferedBytes unread is let go (it
 * resumes with Last-Event-ID). A stream whose credential is revoked or expires is ended, as a socket is.
 */
export function createSse(deps: { limits: SseLimits; authenticator: Authenticator; revocations: Revocations; log: RepeatLog }) {
  const { limits, log } = deps;
  const open = new Set<Open>();
  const counts = new Map<string, number>();
  const count = (key: string, by: number) => {
    const n = (counts.get(key) ?? 0) + by;
    if (n > 0) counts.set(key, n);
    else counts.delete(key);
  };

  const heartbeat = setInterval(() => {
    for (const s of open) s.write(PING);
  }, limits.heartbeatMs).unref();
  deps.revocations.subscribe((revoked) => {
    for (const s of open) if (revokes(revoked, s.state.actor.credential)) s.end();
  });
  // Expiry, and revocations this node was not told of: each credential is looked up again.
  const sweep = setInterval(async () => {
    for (const s of await lapsed(deps.authenticator, open, (o) => o.state)) s.end();
  }, limits.recheckMs).unref();

  let closing = false;

  return {
    /** Serves one stream until it closes: `start` places the follower, given the reader to send to. */
    async serve(ctx: Context & { state: HubState }, start: (reader: Reader) => Promise<Following>): Promise<void> {
      const key = credentialKey(ctx.state.actor);
      if (closing) throw new UnavailableError('this node is shutting down; connect to another');
      if ((counts.get(key) ?? 0) >= limits.perCredential) {
        throw new AppError(429, 'too_many_streams', `at most ${limits.perCredential} open event streams per credential on this node`);
      }
      const res = ctx.res;
      let gone = false;
      const closed = new Promise<void>((resolve) =>
        res.once('close', () => {
          gone = true;
          resolve();
        }),
      );
      const write = (text: string) => {
        if (gone || res.writableEnded) return;
        // Still holding more than the limit of what it was sent before: a reader slower than the events
        // would have them all held here. It is let go instead (one burst may go over; it is sent).
        if (res.writableLength > limits.maxBufferedBytes) return void res.destroy();
        res.write(text);
      };
      const reader: Reader = {
        send: (events) => write(events.map(frame).join('')),
        room: () =>
          gone || !res.writableNeedDrain
            ? Promise.resolve()
            : new Promise((resolve) => {
                const done = () => {
                  res.off('drain', done).off('close', done);
                  resolve();
                };
                res.on('drain', done).on('close', done);
              }),
        end: () => void res.end(),
      };
      const stream: Open = { state: ctx.state, end: reader.end, write };
      count(key, 1);
      let following: Following | undefined;
      try {
        following = await start(reader);
        if (closing) throw new UnavailableError('this node is shutting down; connect to another');
        ctx.status = 200;
        ctx.type = 'text/event-stream';
        // Nothing between here and the client may hold events back: no cache, no proxy buffering.
        ctx.set({ 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
        // A HEAD has no body: Koa answers it with these headers alone.
        if (ctx.method === 'HEAD') return;
        ctx.respond = false;
        if (gone) return;
        res.flushHeaders();
        write(ready(following.from));
        open.add(stream);
        following.run().catch((err) => {
          // A page pruned meanwhile, PostgreSQL away: the client resumes with Last-Event-ID and is told.
          const error = toAppError(err);
          if (error.status >= 500) log('warn', `event stream:${error.code}`, { err }, 'event stream replay failed');
          res.destroy();
        });
        await closed;
      } finally {
        count(key, -1);
        open.delete(stream);
        following?.stop();
      }
    },
    /** Ends every open stream (the node is shutting down): clients resume elsewhere with Last-Event-ID. */
    close() {
      closing = true;
      clearInterval(heartbeat);
      clearInterval(sweep);
      for (const s of open) s.end();
    },
  };
}
