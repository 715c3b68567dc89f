import type { Redis } from 'ioredis';
import type { Context, Next } from 'koa';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Actor } from '../auth/actor.js';
import { AppError } from '../errors.js';

export type RateLimits = { windowSeconds: number; perToken: number; perIp: number };

/**
 * Requests per window per client IP (every request, signed in or not) and per credential. Counted in
 * Redis when the hub has it, so the limits hold across nodes; in this node's memory otherwise and while
 * Redis is away.
 */
export function rateLimiters(deps: { redis: Redis | null; prefix: string; limits: RateLimits }) {
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ points, duration: deps.limits.windowSeconds });
    if (!deps.redis) return memory;
    return new RateLimiterRedis({ points, duration: deps.limits.windowSeconds, storeClient: deps.redis, keyPrefix: `${deps.prefix}:${name}`, rejectIfRedisNotReady: true, insuranceLimiter: memory });
  };
  const byIp = limiter('rate-ip', deps.limits.perIp);
  const byCredential = limiter('rate-credential', deps.limits.perToken);
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
