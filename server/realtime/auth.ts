import { parse as parseCookies } from 'cookie';
import { presentedIn, UnauthenticatedError, type Authenticator } from '../auth/authenticate.js';
import { SESSION_COOKIE } from '../../shared/auth.js';
import { lapsed } from '../auth/recheck.js';
import { revokes, type Revocations } from '../auth/revocations.js';
import { AppError, toAppError } from '../errors.js';
import { clientAddress } from '../http/clientAddress.js';
import type { RepeatLog } from '../logger.js';
import { credentialKey } from '../middleware/rateLimit.js';
import { ForbiddenError } from '../policies/index.js';
import type { HubIo, HubSocket, SocketData } from './server.js';

export type SocketLimits = { perToken: number; perIp: number; eventsPerSecond: number; recheckMs: number };

/** A refusal in the handshake reaches the client as connect_error: message = the code, data = the error body. */
function refusal(err: unknown): Error & { data: unknown } {
  const error = toAppError(err);
  return Object.assign(new Error(error.code), { data: error.body() });
}

/**
 * Who each socket is, settled in the handshake (`auth: {token}`, an Authorization header, or the
 * session cookie from a page the hub serves or an allowed origin); a socket that may not connect
 * gets connect_error with the REST codes (unauthenticated, forbidden, too_many_sockets). Then: a cap
 * on sockets per credential and per IP (per node), a rate of events per socket (`admit`, asked by each
 * event's handler), and a socket whose credential is revoked (on any node) or expires is closed.
 */
export function authenticateSockets(
  io: HubIo,
  deps: { authenticator: Authenticator; corsOrigins: readonly string[]; trustProxy: number; limits: SocketLimits; revocations: Revocations; log: RepeatLog },
) {
  const { authenticator, limits } = deps;
  const open = new Map<string, number>();
  const count = (key: string, by: number) => {
    const n = (open.get(key) ?? 0) + by;
    if (n > 0) open.set(key, n);
    else open.delete(key);
  };
  const keysOf = (data: Pick<SocketData, 'actor' | 'ip'>) => [`c:${credentialKey(data.actor)}`, `ip:${data.ip}`] as const;
  // One listener for every socket (`this` is the socket), not a closure each: idle dashboards are many.
  function release(this: HubSocket) {
    for (const key of keysOf(this.data)) count(key, -1);
  }

  io.use(async (socket, next) => {
    try {
      const { headers } = socket.handshake;
      const token = socket.handshake.auth?.token;
      const cookies = headers.cookie ? parseCookies(headers.cookie) : {};
      const presented = presentedIn(typeof token === 'string' ? `Bearer ${token}` : headers.authorization, cookies[SESSION_COOKIE]);
      const actor = await authenticator.authenticate(presented);
      if (!actor) return next(refusal(new UnauthenticatedError('connect with auth: { token }, or signed in')));
      // The cookie rides along from any page that opens a socket to the hub: only its own pages and allowed origins may use it.
      if (presented.bearer === undefined && actor.credential.kind === 'session' && !originAllowed(headers.origin, headers.host, deps.corsOrigins)) {
        return next(refusal(new ForbiddenError('a signed-in socket must come from the hub’s own pages or an allowed origin')));
      }
      const ip = clientAddress(socket.handshake.address, headers['x-forwarded-for'], deps.trustProxy);
      const keys = keysOf({ actor, ip });
      if ((open.get(keys[0]) ?? 0) >= limits.perToken || (open.get(keys[1]) ?? 0) >= limits.perIp) {
        return next(refusal(new AppError(429, 'too_many_sockets', 'too many open sockets for this credential or address')));
      }
      keys.forEach((k) => count(k, 1));
      socket.on('disconnect', release);
      socket.data = { actor, ip, presented, packed: false, replay: null, heldThrough: 0, allowance: limits.eventsPerSecond, allowanceAt: Date.now() };
      next();
    } catch (err) {
      const error = toAppError(err);
      if (error.status >= 500) deps.log('warn', `socket auth:${error.code}`, { err }, 'socket handshake failed');
      next(refusal(err));
    }
  });

  const close = (socket: HubSocket) => socket.disconnect(true);
  deps.revocations.subscribe((revoked) => {
    for (const socket of io.of('/').sockets.values()) if (revokes(revoked, socket.data.actor.credential)) close(socket);
  });
  // Expiry, and revocations this node was not told of (Redis away): each credential is looked up
  // again through the authenticator's cache, so this costs PostgreSQL one query per credential.
  const sweep = setInterval(async () => {
    for (const socket of await lapsed(authenticator, io.of('/').sockets.values(), (s) => s.data)) close(socket);
  }, limits.recheckMs);
  sweep.unref();
  return { stop: () => clearInterval(sweep), admit: eventAdmission(limits.eventsPerSecond) };
}

function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin) return false;
  return allowed.includes(origin) || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
}

/** Whether a socket's event may be handled now; one that may not has been answered on its ack. */
export type Admit = (socket: HubSocket, ack: ((answer: never) => void) | null) => boolean;

/**
 * At most `perSecond` events a second per socket (a bucket refilled continuously, kept in the
 * socket's data); one over is answered `rate_limited` on its ack, and not handled. Each handler asks
 * first: a Socket.IO middleware per socket would cost every idle dashboard a closure and a list.
 */
function eventAdmission(perSecond: number): Admit {
  return (socket, ack) => {
    const { data } = socket;
    const now = Date.now();
    data.allowance = Math.min(perSecond, data.allowance + ((now - data.allowanceAt) / 1000) * perSecond);
    data.allowanceAt = now;
    if (data.allowance >= 1) {
      data.allowance -= 1;
      return true;
    }
    (ack as ((answer: unknown) => void) | null)?.({ ok: false, error: { code: 'rate_limited', message: `at most ${perSecond} events a second` } });
    return false;
  };
}
