import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';
import { z } from 'zod';
import { Id, Text } from '../../shared/schemas.js';
import { ConfigError, type Config } from '../config.js';
import { ROLES, type Actor } from './actor.js';

/**
 * Single sign-on, optional: bearer JWTs from one issuer, checked against the issuer's JWKS, whose
 * claims name a role and its sites. The hub never issues these; it only trusts them.
 */
export type JwtSettings = {
  issuer: string;
  jwksUrl: string;
  audience?: string;
  roleClaim: string;
  sitesClaim: string;
  /** The claim that names the person; `sub` unless set. */
  subjectClaim?: string;
  nameClaim: string;
  clockToleranceSeconds: number;
  timeoutMs: number;
};

/**
 * What a bearer JWT proved. `invalid`: the caller's fault (401). `unavailable`: the issuer's JWKS
 * could not be fetched in time or was broken, so the token could not be judged (503 with Retry-After).
 * `cause` is for the log only, never for the response.
 */
export type JwtResult = { actor: Actor } | { actor: null; reason: 'invalid' | 'unavailable'; cause: unknown };

export type JwtVerifier = {
  /** Never throws: every failure is a result. */
  verify(token: string): Promise<JwtResult>;
  /** Three base64url segments: tells a JWT from the hub's own `ahub_…` tokens without verifying it. */
  looksLikeJwt(token: string): boolean;
};

// Asymmetric only: an HS* token could be signed with anything the attacker calls a secret (even the
// issuer's public key), and 'none' is no signature at all.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

const Subject = z.string().min(1).max(255).regex(/^[^\p{C}]+$/u, 'must be printable');
const Role = z.enum(ROLES);
const Name = Text(200);
// An array of ids, or one string of ids separated by spaces or commas (as OAuth scopes are); absent is none.
const Sites = z.preprocess(
  (v) => (v === undefined ? [] : typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v),
  z.array(Id).max(1000),
);

/** The JWKS could not be had: raised inside the key look-up so verify can tell it from a bad token. */
class JwksUnavailable extends Error {}

/**
 * Errors of the JWKS fetch itself (timeout, refused, non-200, not JSON, not a key set) as opposed to
 * the token's own (no key with its kid, an alg the set has no key for).
 */
const isOutage = (err: unknown) =>
  !(err instanceof errors.JOSEError) ||
  err instanceof errors.JWKSTimeout ||
  err instanceof errors.JWKSInvalid ||
  err.code === errors.JOSEError.code;

export function createJwtVerifier(settings: JwtSettings): JwtVerifier {
  // jose caches the set (refetched after cacheMaxAge, or at once for an unknown kid unless fetched
  // within the cooldown, so random kids cannot hammer the issuer) and shares one fetch among callers.
  const remote = createRemoteJWKSet(new URL(settings.jwksUrl), {
    timeoutDuration: settings.timeoutMs,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  const keys = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await remote(header, token);
    } catch (err) {
      throw isOutage(err) ? new JwksUnavailable('JWKS unavailable', { cause: err }) : err;
    }
  };
  const subjectClaim = settings.subjectClaim ?? 'sub';

  return {
    looksLikeJwt: (token) => JWT_SHAPE.test(token),

    async verify(token) {
      try {
        // Another issuer's token is refused before any JWKS fetch: it costs nothing, even in an outage.
        if (decodeJwt(token).iss !== settings.issuer) throw new Error('issuer is not the configured one');
        const { payload } = await jwtVerify(token, keys, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: ALGORITHMS,
          clockTolerance: settings.clockToleranceSeconds,
          // A token without an expiry would be valid for ever.
          requiredClaims: ['exp'],
        });
        return { actor: toActor(payload, settings, subjectClaim) };
      } catch (err) {
        if (err instanceof JwksUnavailable) return { actor: null, reason: 'unavailable', cause: err.cause };
        return { actor: null, reason: 'invalid', cause: err };
      }
    },
  };
}

function toActor(claims: Record<string, unknown>, settings: JwtSettings, subjectClaim: string): Actor {
  const subject = claim(Subject, claims, subjectClaim);
  const role = claim(Role, claims, settings.roleClaim);
  const sites = claim(Sites, claims, settings.sitesClaim);
  const name = Name.safeParse(claims[settings.nameClaim]);
  // jose has checked that exp is a number.
  const expiresAt = new Date((claims.exp as number) * 1000);
  return {
    id: `jwt:${subject}`,
    name: name.success ? name.data : subject,
    role,
    sites: role === 'admin' ? 'all' : new Set(sites),
    credential: { kind: 'jwt', subject, expiresAt },
    expiresAt,
  };
}

/** A claim's value, or an error that names the claim (for the caller's log). */
function claim<T>(schema: z.ZodType<T>, claims: Record<string, unknown>, name: string): T {
  const parsed = schema.safeParse(claims[name]);
  if (!parsed.success) throw new Error(`claim ${name}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// How long a token may be past its exp (or before its nbf) for clocks that disagree, and how long a
// JWKS fetch may take before the token is judged `unavailable`.
const CLOCK_TOLERANCE_SECONDS = 30;
const JWKS_TIMEOUT_MS = 2000;

type JwtConfig = Pick<
  Config,
  'AUTH_JWT_ISSUER' | 'AUTH_JWT_JWKS_URL' | 'AUTH_JWT_AUDIENCE' | 'AUTH_JWT_ROLE_CLAIM' | 'AUTH_JWT_SITES_CLAIM' | 'AUTH_JWT_NAME_CLAIM'
>;

/** The JWT settings, or null when single sign-on is off. Call it at start: a half-set config fails there. */
export function jwtSettings(config: JwtConfig): JwtSettings | null {
  const { AUTH_JWT_ISSUER: issuer, AUTH_JWT_JWKS_URL: jwksUrl, AUTH_JWT_AUDIENCE: audience } = config;
  if (!issuer && !jwksUrl) {
    if (audience) throw new ConfigError('AUTH_JWT_AUDIENCE is set but single sign-on is off: set AUTH_JWT_ISSUER and AUTH_JWT_JWKS_URL too');
    return null;
  }
  if (!issuer || !jwksUrl) throw new ConfigError('Set both AUTH_JWT_ISSUER and AUTH_JWT_JWKS_URL for single sign-on, or neither');
  return {
    issuer,
    jwksUrl,
    ...(audience ? { audience } : {}),
    roleClaim: config.AUTH_JWT_ROLE_CLAIM,
    sitesClaim: config.AUTH_JWT_SITES_CLAIM,
    nameClaim: config.AUTH_JWT_NAME_CLAIM,
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    timeoutMs: JWKS_TIMEOUT_MS,
  };
}
