import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors.js';

// Node's defaults (16 MiB per hash): slow enough to make a leaked table costly, fast enough for a kiosk.
const N = 16384;
const r = 8;
const p = 1;
const KEY_LENGTH = 32;

function derive(pin: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(pin, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (salt and hash base64): the parameters travel with the hash so they can change later. */
export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(pin, salt, KEY_LENGTH, { N, r, p });
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when pin matches stored; a malformed stored value never matches. */
export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [scheme, n, rr, pp, salt, hash, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash || rest.length) return false;
  const expected = Buffer.from(hash, 'base64');
  if (!expected.length) return false;
  try {
    const actual = await derive(pin, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(rr), p: Number(pp) });
    return timingSafeEqual(actual, expected);
  } catch {
    // Parameters scrypt refuses (not a power of two, over maxmem) mean the stored value is not ours.
    return false;
  }
}

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
      const ok = await verifyPin(pin, stored);
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
