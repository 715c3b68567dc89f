import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { verifySecret } from '../crypto.js';
import { AppError } from '../errors.js';

export type PinChecker = ReturnType<typeof createPinChecker>;

/**
 * verifyPin with a limit on guessing: after `maxWrong` wrong PINs for a badge within `windowSeconds`
 * (a window opens with the badge's first attempt), its attempts are refused with 429 without hashing
 * until the window ends, even with the right PIN. Counted in Redis when the hub has it, so all nodes
 * share the count; in this node's memory otherwise, and while Redis is unreachable.
 */
export function createPinChecker(opts: { redis: Redis | null; prefix: string; maxWrong: number; windowSeconds: number }) {
  const limits = { points: opts.maxWrong, duration: opts.windowSeconds };
  const memory = new RateLimiterMemory(limits);
  const limiter = opts.redis
    ? new RateLimiterRedis({
        ...limits,
        storeClient: opts.redis,
        keyPrefix: `${opts.prefix}:pin-attempts`,
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      })
    : memory;

  return {
    async verify(badge: string, pin: string, stored: string): Promise<boolean> {
      // Counted before hashing, so guesses made at the same time cannot all pass a check that none of
      // them has failed yet; a right PIN gives its count back.
      await limiter.consume(badge).catch((err: unknown) => {
        throw err instanceof RateLimiterRes ? attemptsExceeded(err.msBeforeNext) : err;
      });
      const ok = await verifySecret(pin, stored);
      if (ok) await limiter.reward(badge);
      return ok;
    },
  };
}

function attemptsExceeded(msBeforeNext: number): AppError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError(429, 'pin_attempts_exceeded', `too many wrong PINs for this badge; retry in ${seconds} s`, {
    retryAfterSeconds: seconds,
  }, seconds);
}
