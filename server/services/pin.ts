import { RateLimiterRes } from 'rate-limiter-flexible';
import { verifySecret } from '../crypto.js';
import { AppError } from '../errors.js';
import type { LimiterFactory } from '../limits.js';

export type PinChecker = ReturnType<typeof createPinChecker>;

/**
 * verifyPin with a limit on guessing: after `maxWrong` wrong PINs for a badge within `windowSeconds`
 * (a window opens with the badge's first attempt), its attempts are refused with 429 without hashing
 * until the window ends, even with the right PIN. Counted where the hub keeps shared counters
 * (server/limits.ts): across nodes with Redis, across a node's workers without.
 */
export function createPinChecker(opts: { limiter: LimiterFactory; maxWrong: number; windowSeconds: number }) {
  const limiter = opts.limiter('pin-attempts', opts.maxWrong, opts.windowSeconds);

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
