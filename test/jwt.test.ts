import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createJwtVerifier, jwtSettings, type JwtResult, type JwtSettings } from '../server/auth/jwt.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { freePort } from './support/net.js';

const ISSUER = 'https://idp.example.test/';
const TIMEOUT_MS = 300;

/** How the test's JWKS endpoint answers: as it should, never, headers then nothing, an error, or not JSON. */
type Mode = 'serve' | 'hang' | 'stallBody' | 'error' | 'garbage';

type Jwks = { url: string; keys: JWK[]; mode: Mode; hits: number; close(): Promise<void> };

async function startJwks(): Promise<Jwks> {
  const jwks = { keys: [] as JWK[], mode: 'serve' as Mode, hits: 0 } as Jwks;
  const server = http.createServer((_req, res) => {
    jwks.hits++;
    if (jwks.mode === 'hang') return;
    if (jwks.mode === 'stallBody') return void res.writeHead(200, { 'content-type': 'application/json' }).write('{"keys":[');
    if (jwks.mode === 'error') return void res.writeHead(500).end();
    if (jwks.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwks.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  jwks.close = () => {
    // Hanging requests hold their sockets: end them so close() returns.
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return jwks;
}

type Signer = { alg: string; kid: string; privateKey: CryptoKey; publicJwk: JWK; publicKey: CryptoKey };

async function signer(alg: string, kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const now = () => Math.floor(Date.now() / 1000);

/** A token with sensible claims; an override of undefined drops that claim. */
function sign(s: Signer, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload = { iss: ISSUER, sub: 'u-1', aud: 'hub', iat: now(), exp: now() + 3600, role: 'manager', sites: ['s1', 's2'], name: 'Ann Example', ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: s.alg, kid: s.kid, typ: 'JWT', ...header }).sign(s.privateKey);
}

function settings(jwksUrl: string, extra: Partial<JwtSettings> = {}): JwtSettings {
  return { issuer: ISSUER, jwksUrl, audience: 'hub', roleClaim: 'role', sitesClaim: 'sites', nameClaim: 'name', clockToleranceSeconds: 30, timeoutMs: TIMEOUT_MS, ...extra };
}

function actorOf(result: JwtResult) {
  assert.ok(result.actor, `expected an actor, got ${result.actor === null ? `${result.reason}: ${String(result.cause)}` : ''}`);
  return result.actor;
}

function reasonOf(result: JwtResult) {
  return result.actor === null ? result.reason : 'accepted';
}

describe('single sign-on with JWTs', () => {
  let jwks: Jwks;
  let rsa: Signer;
  let ec: Signer;
  let ed: Signer;

  before(async () => {
    [rsa, ec, ed] = await Promise.all([signer('RS256', 'rsa-1'), signer('ES256', 'ec-1'), signer('EdDSA', 'ed-1')]);
    jwks = await startJwks();
  });

  beforeEach(() => {
    jwks.keys = [rsa.publicJwk, ec.publicJwk, ed.publicJwk];
    jwks.mode = 'serve';
  });

  after(() => jwks?.close());

  it('maps a valid token to an actor: role, sites, name, expiry', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    const exp = now() + 600;
    const actor = actorOf(await verifier.verify(await sign(rsa, { exp })));
    assert.deepEqual(actor, {
      id: 'jwt:u-1',
      name: 'Ann Example',
      role: 'manager',
      sites: new Set(['s1', 's2']),
      credential: { kind: 'jwt', subject: 'u-1', expiresAt: new Date(exp * 1000) },
      expiresAt: new Date(exp * 1000),
    });
  });

  it('accepts RSA, EC and EdDSA keys, and an audience among several', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    for (const s of [rsa, ec, ed]) assert.equal(actorOf(await verifier.verify(await sign(s, { aud: ['other', 'hub'] }))).role, 'manager');
  });

  it('reads sites from an array or from one string separated by spaces or commas', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    const sitesOf = async (sites: unknown) => actorOf(await verifier.verify(await sign(rsa, { sites }))).sites;
    assert.deepEqual(await sitesOf(['north', 'south']), new Set(['north', 'south']));
    assert.deepEqual(await sitesOf('north south,east ,  west'), new Set(['north', 'south', 'east', 'west']));
    assert.deepEqual(await sitesOf('north'), new Set(['north']));
    // No sites claim, or an empty one: an actor that reaches no site.
    assert.deepEqual(await sitesOf(undefined), new Set());
    assert.deepEqual(await sitesOf(''), new Set());
    assert.deepEqual(await sitesOf([]), new Set());
  });

  it('gives admins every site, and falls back to the subject for a missing or unusable name', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    const admin = actorOf(await verifier.verify(await sign(rsa, { role: 'admin', sites: undefined, name: undefined })));
    assert.equal(admin.sites, 'all');
    assert.equal(admin.name, 'u-1');
    assert.equal(actorOf(await verifier.verify(await sign(rsa, { name: 42 }))).name, 'u-1');
    assert.equal(actorOf(await verifier.verify(await sign(rsa, { name: 'bad\u0000name' }))).name, 'u-1');
  });

  it('reads the claims it is told to', async () => {
    const verifier = createJwtVerifier(settings(jwks.url, { roleClaim: 'https://hub.example/role', sitesClaim: 'locations', nameClaim: 'preferred_username', subjectClaim: 'oid' }));
    const token = await sign(rsa, { role: undefined, sites: undefined, 'https://hub.example/role': 'kiosk', locations: 'lobby', preferred_username: 'front desk', oid: 'obj-9' });
    const actor = actorOf(await verifier.verify(token));
    assert.deepEqual([actor.id, actor.name, actor.role, actor.sites], ['jwt:obj-9', 'front desk', 'kiosk', new Set(['lobby'])]);
    // The default claim names mean nothing to this verifier.
    assert.equal(reasonOf(await verifier.verify(await sign(rsa, { oid: 'obj-9' }))), 'invalid');
  });

  it('allows clock skew up to the tolerance, and no more', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    assert.ok((await verifier.verify(await sign(rsa, { exp: now() - 10 }))).actor);
    assert.ok((await verifier.verify(await sign(rsa, { nbf: now() + 10 }))).actor);
    assert.equal(reasonOf(await verifier.verify(await sign(rsa, { exp: now() - 60 }))), 'invalid');
    assert.equal(reasonOf(await verifier.verify(await sign(rsa, { nbf: now() + 60 }))), 'invalid');
  });

  it('refuses tokens that are not valid for this hub', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    const stranger = await signer('RS256', 'rsa-1');
    const unknownKid = await signer('ES256', 'not-in-set');
    const good = await sign(rsa);
    const [head, , sig] = good.split('.');
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(good.split('.')[1]!)));
    const tampered = [head, base64url.encode(JSON.stringify({ ...payload, role: 'admin' })), sig].join('.');
    const hmac = (secret: Uint8Array, alg = 'HS256') =>
      new SignJWT({ iss: ISSUER, sub: 'u-1', aud: 'hub', exp: now() + 3600, role: 'admin' }).setProtectedHeader({ alg, kid: rsa.kid }).sign(secret);

    const cases: Record<string, string> = {
      'wrong issuer': await sign(rsa, { iss: 'https://evil.example/' }),
      'issuer differing by a slash': await sign(rsa, { iss: ISSUER.slice(0, -1) }),
      'no issuer': await sign(rsa, { iss: undefined }),
      'wrong audience': await sign(rsa, { aud: 'another-app' }),
      'no audience': await sign(rsa, { aud: undefined }),
      'expired beyond the tolerance': await sign(rsa, { exp: now() - 3600 }),
      'not yet valid': await sign(rsa, { nbf: now() + 3600 }),
      'no expiry': await sign(rsa, { exp: undefined }),
      'signed by another key with a kid in the set': await sign(stranger),
      'signed by a key not in the set': await sign(unknownKid),
      'claims changed after signing': tampered,
      'HS256 with a guessed secret': await hmac(new TextEncoder().encode('secret-secret-secret-secret-1234')),
      'HS256 with the public key as the secret': await hmac(new TextEncoder().encode(await exportSPKI(rsa.publicKey))),
      'alg none': new UnsecuredJWT({ iss: ISSUER, sub: 'u-1', aud: 'hub', exp: now() + 3600, role: 'admin' }).encode(),
      'unknown role': await sign(rsa, { role: 'superuser' }),
      'no role': await sign(rsa, { role: undefined }),
      'role as a list': await sign(rsa, { role: ['admin'] }),
      'role differing in case': await sign(rsa, { role: 'Admin' }),
      'no subject': await sign(rsa, { sub: undefined }),
      'subject with control characters': await sign(rsa, { sub: 'u\n1' }),
      'site id with a bidi override': await sign(rsa, { sites: ['s1', 'evil\u202Eid'] }),
      'site id with a zero-width space': await sign(rsa, { sites: 'ok s\u200Bx' }),
      'site id too long': await sign(rsa, { sites: ['x'.repeat(65)] }),
      'empty site id': await sign(rsa, { sites: ['s1', ''] }),
      'site id not a string': await sign(rsa, { sites: ['s1', 7] }),
      'sites as an object': await sign(rsa, { sites: { s1: true } }),
      'sites as a number': await sign(rsa, { sites: 1 }),
      'admin with malformed sites': await sign(rsa, { role: 'admin', sites: [{}] }),
      truncated: good.slice(0, -4),
      'signature dropped': good.slice(0, good.lastIndexOf('.') + 1),
      'two segments': good.slice(0, good.lastIndexOf('.')),
      'header only': good.slice(0, 30),
      empty: '',
      garbage: 'not a token',
      'dots only': '..',
      'three junk segments': 'abc.def.ghi',
      'an API token': `ahub_${'A'.repeat(43)}`,
      'JSON that is not an object': [head, base64url.encode('[1,2]'), sig].join('.'),
    };
    for (const [what, token] of Object.entries(cases)) {
      assert.equal(reasonOf(await verifier.verify(token)), 'invalid', what);
    }
    // The same verifier still accepts a good token afterwards.
    assert.ok((await verifier.verify(good)).actor);
  });

  it('does not fetch the JWKS for tokens it can refuse without it', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    const before = jwks.hits;
    const tokens = [
      'garbage',
      'abc.def.ghi',
      await sign(rsa, { iss: 'https://evil.example/' }),
      new UnsecuredJWT({ iss: ISSUER, sub: 'u-1', exp: now() + 60, role: 'admin' }).encode(),
      await new SignJWT({ iss: ISSUER, sub: 'u-1', exp: now() + 60, role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32)),
    ];
    for (const token of tokens) assert.equal(reasonOf(await verifier.verify(token)), 'invalid');
    assert.equal(jwks.hits, before);
  });

  it('tells a JWT from the hub\'s own tokens by shape alone', async () => {
    const verifier = createJwtVerifier(settings(jwks.url));
    assert.equal(verifier.looksLikeJwt(await sign(rsa)), true);
    assert.equal(verifier.looksLikeJwt('abc.def.ghi'), true);
    for (const token of [`ahub_${'a-_B'.repeat(10)}xyz`, '', 'a.b', 'a.b.c.d', 'a..c', 'a.b.', 'a b.c.d', 'a.b.c\n', 'a+b.c/d.e=']) {
      assert.equal(verifier.looksLikeJwt(token), false, JSON.stringify(token));
    }
  });

  describe('key rotation', () => {
    const realNow = Date.now;
    let skewMs = 0;
    // jose times its JWKS cache with Date.now: moving it moves the cache's clock, not the tokens'.
    beforeEach(() => {
      skewMs = 0;
      Date.now = () => realNow() + skewMs;
    });
    afterEach(() => {
      Date.now = realNow;
    });

    it('picks up a new key from the JWKS once the cooldown since the last fetch has passed', async () => {
      const verifier = createJwtVerifier(settings(jwks.url));
      assert.ok((await verifier.verify(await sign(rsa))).actor);
      const fetched = jwks.hits;

      const next = await signer('PS256', 'rsa-2');
      jwks.keys = [...jwks.keys, next.publicJwk];
      const token = await sign(next);
      // Just fetched: a kid the set does not have is refused without asking the issuer again.
      assert.equal(reasonOf(await verifier.verify(token)), 'invalid');
      assert.equal(jwks.hits, fetched);

      skewMs = 31_000;
      assert.equal(actorOf(await verifier.verify(token)).role, 'manager');
      assert.equal(jwks.hits, fetched + 1);
      // The old key is still in the set and still works, from the cache.
      assert.ok((await verifier.verify(await sign(rsa))).actor);
      assert.equal(jwks.hits, fetched + 1);
    });

    it('stops accepting a key removed from the JWKS once the cache is stale', async () => {
      const verifier = createJwtVerifier(settings(jwks.url));
      const token = await sign(rsa);
      assert.ok((await verifier.verify(token)).actor);
      jwks.keys = [ec.publicJwk];
      assert.ok((await verifier.verify(token)).actor, 'cached for a while');
      skewMs = 11 * 60_000;
      assert.equal(reasonOf(await verifier.verify(token)), 'invalid');
      assert.ok((await verifier.verify(await sign(ec))).actor);
    });
  });

  describe('when the JWKS cannot be had', () => {
    async function timed(verify: () => Promise<JwtResult>) {
      const started = performance.now();
      const result = await verify();
      return { result, ms: performance.now() - started };
    }

    it('answers unavailable at once when nothing listens', async () => {
      const verifier = createJwtVerifier(settings(`http://127.0.0.1:${await freePort()}/jwks`));
      const { result, ms } = await timed(async () => verifier.verify(await sign(rsa)));
      assert.equal(reasonOf(result), 'unavailable');
      assert.ok(ms < TIMEOUT_MS + 1000, `${ms} ms`);
      // Another issuer's token is still simply invalid: no fetch is needed to refuse it.
      assert.equal(reasonOf(await verifier.verify(await sign(rsa, { iss: 'https://evil.example/' }))), 'invalid');
    });

    for (const mode of ['hang', 'stallBody'] as const) {
      it(`answers unavailable within the timeout when the JWKS ${mode === 'hang' ? 'never answers' : 'sends headers but no body'}`, async () => {
        jwks.mode = mode;
        const verifier = createJwtVerifier(settings(jwks.url));
        const tokens = await Promise.all([rsa, ec, ed].map((s) => sign(s)));
        const before = jwks.hits;
        const { result, ms } = await timed(async () => {
          // Callers waiting at once share one fetch, and all get the answer within the timeout.
          const results = await Promise.all(tokens.map((t) => verifier.verify(t)));
          assert.deepEqual(results.map(reasonOf), ['unavailable', 'unavailable', 'unavailable']);
          return results[0]!;
        });
        assert.equal(reasonOf(result), 'unavailable');
        assert.equal(jwks.hits, before + 1);
        assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 1000, `${ms} ms`);

        // Back up: the next token is verified, nothing stuck.
        jwks.mode = 'serve';
        assert.ok((await verifier.verify(tokens[0]!)).actor);
      });
    }

    for (const mode of ['error', 'garbage'] as const) {
      it(`answers unavailable when the JWKS answers ${mode === 'error' ? '500' : 'with something not JSON'}`, async () => {
        jwks.mode = mode;
        const verifier = createJwtVerifier(settings(jwks.url));
        assert.equal(reasonOf(await verifier.verify(await sign(rsa))), 'unavailable');
      });
    }

    it('answers unavailable when the JWKS is not a key set', async () => {
      jwks.keys = 'nope' as unknown as JWK[];
      const verifier = createJwtVerifier(settings(jwks.url));
      assert.equal(reasonOf(await verifier.verify(await sign(rsa))), 'unavailable');
    });

    it('keeps verifying with the cached keys while the JWKS is down', async () => {
      const verifier = createJwtVerifier(settings(jwks.url));
      assert.ok((await verifier.verify(await sign(rsa))).actor);
      jwks.mode = 'hang';
      const before = jwks.hits;
      assert.ok((await verifier.verify(await sign(ec))).actor);
      assert.equal(jwks.hits, before);
    });
  });

  describe('settings from the config', () => {
    const env = { AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_JWKS_URL: 'https://idp.example.test/jwks' };

    it('is off with neither issuer nor JWKS URL', () => {
      assert.equal(jwtSettings(loadConfig({})), null);
    });

    it('takes the issuer, JWKS URL and claim names, with defaults', () => {
      assert.deepEqual(jwtSettings(loadConfig(env)), {
        issuer: ISSUER,
        jwksUrl: env.AUTH_JWT_JWKS_URL,
        roleClaim: 'role',
        sitesClaim: 'sites',
        nameClaim: 'name',
        clockToleranceSeconds: 30,
        timeoutMs: 2000,
      });
      const custom = jwtSettings(
        loadConfig({ ...env, AUTH_JWT_AUDIENCE: 'hub', AUTH_JWT_ROLE_CLAIM: 'hub_role', AUTH_JWT_SITES_CLAIM: 'hub_sites', AUTH_JWT_NAME_CLAIM: 'email' }),
      );
      assert.deepEqual([custom?.audience, custom?.roleClaim, custom?.sitesClaim, custom?.nameClaim], ['hub', 'hub_role', 'hub_sites', 'email']);
    });

    it('refuses half a configuration', () => {
      assert.throws(() => jwtSettings(loadConfig({ AUTH_JWT_ISSUER: ISSUER })), ConfigError);
      assert.throws(() => jwtSettings(loadConfig({ AUTH_JWT_JWKS_URL: env.AUTH_JWT_JWKS_URL })), ConfigError);
      assert.throws(() => jwtSettings(loadConfig({ AUTH_JWT_AUDIENCE: 'hub' })), ConfigError);
    });

    it('refuses URLs that are not http(s)', () => {
      assert.throws(() => loadConfig({ ...env, AUTH_JWT_JWKS_URL: 'file:///etc/jwks.json' }), ConfigError);
      assert.throws(() => loadConfig({ ...env, AUTH_JWT_ISSUER: 'not a url' }), ConfigError);
    });
  });
});
