import { hash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Node's defaults (16 MiB per hash): slow enough to make a leaked table costly, fast enough for a kiosk.
const N = 16384;
const r = 8;
const p = 1;
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/**
 * A salted scrypt hash, for secrets people choose (PINs, passwords): `scrypt$N$r$p$salt$hash` (salt and
 * hash base64), the parameters travelling with the hash so they can change later.
 */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, KEY_LENGTH, { N, r, p });
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when the secret matches what hashSecret stored; a malformed stored value never matches. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, rr, pp, salt, hash, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash || rest.length) return false;
  const expected = Buffer.from(hash, 'base64');
  if (!expected.length) return false;
  try {
    const actual = await derive(secret, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(rr), p: Number(pp) });
    return timingSafeEqual(actual, expected);
  } catch {
    // Parameters scrypt refuses (not a power of two, over maxmem) mean the stored value is not ours.
    return false;
  }
}

/** A random secret's fingerprint: 256 random bits need no slow hash, only one that does not reveal them. */
export const fingerprint = (secret: string) => hash('sha256', secret, 'hex');

/** 256 random bits, URL- and header-safe (43 characters). */
export const randomSecret = () => randomBytes(32).toString('base64url');
