import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hostileString, hostileValue, toValue } from './hostile.js';

/**
 * Credentials of every wrong shape, for the hostile-credentials sweep. None of them may prove anything:
 * the real secrets they start from are always changed, revoked, expired, or put where no credential goes.
 */
export type Known = {
  /** A valid API token (the hub's admin): only ever sent changed. */
  token: string;
  /** A valid session secret: only ever sent changed, or as a bearer token. */
  session: string;
  revoked: string;
  expired: string;
  /** Tokens a JWT hub must refuse although they are well made (signed by a stranger, expired, tampered…). */
  jwts?: string[];
  /** A JWT the hub accepts: only ever sent changed. */
  validJwt?: string;
  /** The issuer a JWT hub trusts, so some generated JWTs get as far as the key look-up. */
  issuer?: string;
};

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64 = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...B64URL), minLength, maxLength });
const latin1 = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));
const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const headerUnit = fc.oneof({ weight: 6, arbitrary: printable }, { weight: 1, arbitrary: fc.constantFrom(' ', '\t') }, { weight: 2, arbitrary: latin1 });
/** Header-safe characters that are not in a token's alphabet. */
const INVALID_IN_TOKEN = ['+', '/', '=', '.', '~', '!', '"', '\\', ',', ';', ':', '@', '%', '*', '\u00e9', '\u00ff', '\u0080', '\u00a0'];

const insertAt = (s: string, c: string, at: number) => s.slice(0, at) + c + s.slice(at);
/** A parsed value's JSON length (JSON.stringify, unlike jsonText, takes the deepest nesting the generators make). */
const jsonLength = (v: unknown) => (JSON.stringify(v) ?? '').length;
/** Well under SOCKET_MAX_PAYLOAD_BYTES (64 KB): a bigger handshake closes the connection, which is tested on its own. */
const small = (v: unknown) => jsonLength(v) < 32_000;
/** Node answers 431 to requests whose headers pass 16 KB, before the hub sees them: every header stays under this. */
const MAX_HEADER = 12_000;
const seg = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v) ?? 'null').toString('base64url');
const decoded = (jwt: string) => jwt.split('.').map((s) => Buffer.from(s, 'base64url').toString('hex')).join('.');

/**
 * The secret with one character replaced (from its own alphabet), deleted, doubled or changed in case;
 * never the secret itself. For a JWT, also never one that decodes to the same bytes (base64url's last
 * character has spare bits, so some one-character changes of a signature change nothing).
 */
function oneCharOff(secret: string, opts: { jwt?: boolean } = {}): fc.Arbitrary<string> {
  return fc
    .tuple(fc.nat({ max: secret.length - 1 }), fc.constantFrom(...B64URL), fc.constantFrom('replace', 'delete', 'double', 'case'))
    .map(([i, c, how]) => {
      const at = secret[i]!;
      const changed = how === 'replace' ? c : how === 'delete' ? '' : how === 'double' ? at + at : at === at.toLowerCase() ? at.toUpperCase() : at.toLowerCase();
      return secret.slice(0, i) + changed + secret.slice(i + 1);
    })
    .filter((s) => s !== secret && !(opts.jwt && decoded(s) === decoded(secret)));
}

/** What could follow "Bearer ": hub-token look-alikes, real tokens changed, revoked or expired, and junk. */
export function tokens(known: Known): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: b64(43, 43).map((s) => `ahub_${s}`) },
    { weight: 2, arbitrary: b64(0, 42).map((s) => `ahub_${s}`) },
    { weight: 2, arbitrary: b64(44, 300).map((s) => `ahub_${s}`) },
    { weight: 2, arbitrary: fc.tuple(b64(43, 43), fc.constantFrom(...INVALID_IN_TOKEN), fc.nat(42)).map(([s, c, i]) => `ahub_${insertAt(s.slice(1), c, i)}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('AHUB_', 'Ahub_', 'ahub-', 'ahub', 'ahub__', '_ahub_', 'ahub_ahub_', 'hub_', ''), b64(43, 43)).map(([p, s]) => p + s) },
    { weight: 4, arbitrary: oneCharOff(known.token) },
    { weight: 1, arbitrary: fc.constantFrom(known.token.slice(5), known.token.slice(0, -1), `${known.token}${known.token}`, known.token.toUpperCase(), known.token.toLowerCase()) },
    // A valid secret with junk that no trimming removes.
    { weight: 1, arbitrary: fc.constantFrom(`"${known.token}"`, `<${known.token}>`, `${known.token},`, `${known.token};`, `${known.token}=`, `${known.token} x`, `x ${known.token}`, `${known.token}\u00e9`) },
    // A session secret is not an API token.
    { weight: 1, arbitrary: fc.constantFrom(known.session, `ahub_${known.session}`) },
    { weight: 3, arbitrary: fc.constantFrom(known.revoked, known.expired) },
    { weight: 1, arbitrary: fc.integer({ min: 4090, max: 11_000 }).map((n) => `ahub_${'A'.repeat(n)}`) },
    { weight: 2, arbitrary: fc.string({ unit: printable, minLength: 1, maxLength: 100 }) },
    { weight: 1, arbitrary: fc.string({ unit: headerUnit, minLength: 1, maxLength: 100 }) },
  ).filter((t) => t !== known.token);
}

const ALGS = ['none', 'None', 'NONE', 'nOnE', 'HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'ES512', 'EdDSA', 'RSA-OAEP', 'dir', '', 'A128KW'];

/** JWT-shaped bearer tokens: three base64url segments of junk, alg none, HS256 with guessed keys, unsigned, huge, broken JSON. */
export function jwts(known: Pick<Known, 'token' | 'issuer' | 'jwts' | 'validJwt'>): fc.Arbitrary<string> {
  const issuer = fc.constantFrom<unknown>(...(known.issuer ? [known.issuer, `${known.issuer}x`] : []), 'https://evil.example/', undefined, 42, '');
  const header = fc.record(
    {
      // Small: a header over Node's 16 KB is answered 431 before the hub sees it.
      alg: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ALGS) }, { weight: 1, arbitrary: hostileValue.map(toValue).filter((v) => jsonLength(v) < 500) }),
      typ: fc.constantFrom('JWT', 'jwt', 'at+jwt', 'JWE'),
      kid: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constantFrom(null, {}, [], ['a'], true)),
      crit: fc.constantFrom(['exp'], ['b64'], 'x'),
      b64: fc.boolean(),
      jku: fc.constantFrom('http://127.0.0.1:1/jwks', 'file:///etc/passwd'),
    },
    { requiredKeys: ['alg'] },
  );
  const payload = fc.record(
    {
      iss: issuer,
      sub: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
      aud: fc.constantFrom('hub', ['hub'], 'other'),
      exp: fc.oneof(fc.integer({ min: -1e10, max: 1e10 }), fc.constantFrom('never', null, 1e400)),
      nbf: fc.integer({ min: 0, max: 1e10 }),
      role: fc.constantFrom('admin', 'Admin', 'superuser', ['admin'], null),
      sites: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.constant('all')),
    },
    { requiredKeys: [] },
  );
  const signature = fc.oneof(b64(1, 90), b64(300, 400), fc.constant(''));
  const hs256 = (h: unknown, p: unknown, key: string) => {
    const input = `${seg(h)}.${seg(p)}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };
  const built = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(header, payload, signature).map(([h, p, s]) => `${seg(h)}.${seg(p)}.${s}`) },
    { weight: 2, arbitrary: payload.map((p) => `${seg({ alg: 'none', typ: 'JWT' })}.${seg(p)}.`) },
    { weight: 2, arbitrary: fc.tuple(payload, fc.constantFrom('secret', '', 'hub', 'ahub_', known.issuer ?? 'x', known.token)).map(([p, k]) => hs256({ alg: 'HS256', typ: 'JWT' }, p, k)) },
    // Huge: a payload of kilobytes, still under the 16 KB Node allows for all headers.
    { weight: 1, arbitrary: fc.tuple(payload, fc.integer({ min: 1000, max: 8000 })).map(([p, n]) => `${seg({ alg: 'RS256' })}.${seg({ ...p, pad: 'x'.repeat(n) })}.${'A'.repeat(342)}`) },
  );
  const segments = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(b64(1, 60), b64(1, 200), b64(1, 100)).map((s) => s.join('.')) },
    { weight: 1, arbitrary: fc.array(b64(0, 40), { minLength: 1, maxLength: 6 }).map((s) => s.join('.')) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('not json', '[1,2]', 'null', '"str"', '{"alg":', '{}', '{"alg":"none"', '\u00ff\u00fe', '{"__proto__":{"alg":"none"}}'), payload)
        .map(([h, p]) => `${seg(h)}.${seg(p)}.${seg('sig')}`),
    },
    // base64, not base64url, and padded.
    { weight: 1, arbitrary: fc.tuple(header, payload).map(([h, p]) => `${Buffer.from(JSON.stringify(h)).toString('base64')}.${Buffer.from(JSON.stringify(p)).toString('base64')}.ab+/==`) },
  );
  return fc.oneof(
    { weight: 4, arbitrary: built },
    { weight: 3, arbitrary: segments },
    ...(known.jwts?.length ? [{ weight: 2, arbitrary: fc.constantFrom(...known.jwts) }] : []),
    ...(known.validJwt ? [{ weight: 2, arbitrary: oneCharOff(known.validJwt, { jwt: true }) }] : []),
  );
}

/** Bytes as they go in a header: UTF-8, written byte for byte (non-ASCII as latin1 characters), no control characters but tab. */
const headerSafe = (s: string) => Buffer.from(s, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

/** Whether a header value still has something in it once the server trims its surrounding whitespace. */
const notBlank = (s: string) => /[^ \t]/.test(s);

/** The test's own oracle: after the trimming HTTP does, the header is not "Bearer" and a valid token. */
const provesNothing = (known: Known) => (header: string) => {
  const m = /^bearer ([\x21-\x7e]+)$/i.exec(header.replace(/^[ \t]+|[ \t]+$/g, ''));
  return m?.[1] !== known.token;
};

/** Authorization header values: wrong schemes, Basic, spacing, several bearers, bare "Bearer", very long, non-ASCII. */
export function authorizationHeaders(known: Known): fc.Arbitrary<string> {
  const token = fc.oneof(tokens(known), jwts(known));
  // Next to a valid token, junk must not be blank at its ends: HTTP would trim it away.
  const junk = token.map(headerSafe).filter((t) => t.length > 0 && !/^[ \t]|[ \t]$/.test(t));
  // Only tokens that prove nothing follow a scheme, so even "bearer" (a scheme is case-insensitive) must fail.
  const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'BeArEr ', 'Bearer  ', 'Bearer\t', ' Bearer ', 'Bearer', 'Bearer:', 'Bearer=', 'Basic ', 'Token ', 'Digest ', 'JWT ', 'ApiKey ', 'ahub ', '');
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.tuple(scheme, token).map(([s, t]) => s + t) },
      // A valid token after anything but "Bearer ".
      { weight: 2, arbitrary: fc.constantFrom('Bearer  ', 'Bearer\t', 'Bearer:', 'Bearer=', 'Basic ', 'Token ', 'JWT ', '', 'Bearer Bearer ', 'Bearer "').map((s) => s + known.token) },
      { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`) },
      { weight: 1, arbitrary: fc.constant(`Basic ${Buffer.from(`admin:${known.token}`).toString('base64')}`) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(junk, fc.constantFrom(known.token, known.revoked), fc.constantFrom(', Bearer ', ' Bearer ', ',', ' ', '; '), fc.boolean())
          .map(([a, b, sep, first]) => (first ? `Bearer ${b}${sep}${a}` : `Bearer ${a}${sep}${b}`)),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Bearer\t', 'Basic', 'Basic ', 'Negotiate', ',', 'null', 'undefined', 'Bearer null', 'Bearer undefined', 'Bearer [object Object]', 'Bearer ""'),
      },
      { weight: 1, arbitrary: fc.integer({ min: 4097, max: 11_000 }).map((n) => `Bearer ${'x'.repeat(n)}`) },
      { weight: 2, arbitrary: fc.string({ unit: headerUnit, minLength: 1, maxLength: 200 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).map((s) => `Bearer ${s}`) },
    )
    .map(headerSafe)
    .filter((h) => notBlank(h) && h.length <= MAX_HEADER && provesNothing(known)(h));
}

/** Session cookie values that prove nothing. */
function sessionValues(known: Known): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: b64(43, 43) },
    { weight: 2, arbitrary: b64(0, 80) },
    { weight: 4, arbitrary: oneCharOff(known.session) },
    // An API token is not a session.
    { weight: 1, arbitrary: fc.constantFrom(known.token, known.revoked) },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%00', '%E2%80%AE', '%ED%A0%80', '"', '""', '"abc"', '\\', 'a b', 'deleted', 'null', '[object Object]') },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 11_000 }).map((n) => 'S'.repeat(n)) },
    { weight: 2, arbitrary: fc.string({ unit: headerUnit, maxLength: 100 }).map((s) => s.replace(/;/g, '')) },
  );
}

const cookiePair = fc.tuple(fc.string({ unit: fc.constantFrom(...'abcxyz_-.019'), minLength: 1, maxLength: 12 }), b64(0, 20)).map(([k, v]) => `${k}=${v}`);

/** Cookie header values: a hub_session of junk, very long, among many cookies, twice, or in broken syntax. */
export function cookieHeaders(known: Known): fc.Arbitrary<string> {
  const value = sessionValues(known);
  return fc
    .oneof(
      { weight: 4, arbitrary: value.map((v) => `hub_session=${v}`) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.array(cookiePair, { minLength: 1, maxLength: 300 }), value, fc.nat())
          .map(([pairs, v, i]) => {
            pairs.splice(i % (pairs.length + 1), 0, `hub_session=${v}`);
            return pairs.join('; ');
          }),
      },
      { weight: 2, arbitrary: fc.tuple(value, value).map(([a, b]) => `hub_session=${a}; hub_session=${b}`) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom(';;;', '=', 'hub_session', 'hub_session;', '=hub_session', 'hub_session==', 'hub_session =', ' hub_session=', 'hub_session=;', 'HUB_SESSION=', 'hub-session=', 'hub_session\t=', 'hub_session=;hub_session=', '; ;hub_session=', 'a=b;hub_session'),
          value,
        ).map(([c, v]) => c + v),
      },
      { weight: 1, arbitrary: fc.string({ unit: headerUnit, minLength: 1, maxLength: 200 }) },
    )
    .map(headerSafe)
    .filter((h) => notBlank(h) && h.length <= MAX_HEADER && !h.split(';').some((pair) => pair.trim() === `hub_session=${known.session}`));
}

/** What a socket puts in `auth: {token}`: token and JWT strings of every shape (not only header-safe ones), and values that are not strings. */
function socketTokens(known: Known): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: tokens(known) },
    { weight: 2, arbitrary: jwts(known) },
    { weight: 1, arbitrary: fc.constantFrom(`${known.token}\n`, `${known.token} `, ` ${known.token}`, `\t${known.token}`, `${known.token}\u0000`, `Bearer ${known.token}`, `${known.token}\u200b`) },
    { weight: 2, arbitrary: hostileString.filter(small) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
        // A valid token, but not as a string.
        fc.constantFrom([known.token], [[known.token]], { token: known.token }, { toString: known.token }),
        hostileValue.map(toValue).filter(small),
      ),
    },
  );
}

/** The handshake's `auth` object: mostly {token}, sometimes a valid token under a name the hub does not read. */
export function socketAuths(known: Known): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    { weight: 10, arbitrary: socketTokens(known).map((token) => ({ token })) },
    { weight: 1, arbitrary: fc.tuple(socketTokens(known), hostileValue.map(toValue).filter(small)).map(([token, extra]) => ({ token, extra })) },
    { weight: 1, arbitrary: fc.constantFrom<Record<string, unknown>>({}, { Token: known.token }, { authorization: `Bearer ${known.token}` }, { token: undefined }, { bearer: known.token }, { session: known.session }) },
  );
}
