import type { Context, Next } from 'koa';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Actor } from '../auth/actor.js';
import { AppError } from '../errors.js';
import type { LimiterFactory } from '../limits.js';

export type RateLimits = { windowSeconds: number; perToken: number; perIp: number };

/**
 * Requests per window per client IP (every request, signed in or not) and per credential. Counted in
 * Redis when the hub has it, so the limits hold across nodes; without it each process counts its own
 * (asking the cluster primary on every request would cost more than the limit saves).
 */
export function rateLimiters(deps: { limiter: LimiterFactory; limits: RateLimits }) {
  const byIp = deps.limiter('rate-ip', deps.limits.perIp, deps.limits.windowSeconds, 'node');
  const byCredential = deps.limiter('rate-credential', deps.limits.perToken, deps.limits.windowSeconds, 'node');
  return {
    /** Before authentication: a flood of bad tokens is one IP's flood. */
    ip: () => async (ctx: Context, next: Next) => {
      await take(byIp, ctx.ip || 'unknown');
      await next();
    },
    /** After authentication: one token's share, whichever IPs it comes from. */
    credential: () => async (ctx: Context, next: Next) => {
      await take(byCredential, credentialKey(ctx.state.actor as Actor));
      await next();
    },
  };
}

export const credentialKey = (actor: Actor) => {
  const c = actor.credential;
  return c.kind === 'jwt' ? `jwt:${c.subject}` : c.kind === 'anonymous' ? 'anonymous' : `${c.kind}:${c.id}`;
};

async function take(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new AppError(429, 'rate_limited', `too many requests; retry in ${seconds} s`, { retryAfterSeconds: seconds }, seconds);
  }
}
