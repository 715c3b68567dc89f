import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z.url().refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
    message: `must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL`,
  });

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Worker processes behind the one port (node:cluster); `auto`: one per core.
  WORKERS: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(256)])
    .default(1)
    .transform((v) => (v === 'auto' ? os.availableParallelism() : v)),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  REDIS_PREFIX: z.string().regex(/^[\w.-]+$/).default('hub'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MIGRATE_ON_START: flag.default(true),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  DB_POOL_MAX: z.coerce.number().int().min(2).max(100).default(10),
  // Bounded waits on PostgreSQL: past them a request answers 503 `unavailable` instead of hanging.
  // The statement timeout is PostgreSQL's own; the query timeout is the hub's, for a server that does
  // not answer at all (frozen, or a network that drops packets), so it is set a little longer.
  DB_STATEMENT_TIMEOUT_MS: ms(100, 600_000, 2500),
  DB_QUERY_TIMEOUT_MS: ms(100, 600_000, 3000),
  DB_ACQUIRE_TIMEOUT_MS: ms(100, 600_000, 2000),
  DB_CONNECT_TIMEOUT_MS: ms(100, 600_000, 2000),
  // A Redis command that takes longer fails, and the hub carries on without Redis (cache, counters).
  REDIS_COMMAND_TIMEOUT_MS: ms(50, 60_000, 500),
  // What one client may hold: a request's body, headers and whole request must arrive within these,
  // an idle keep-alive connection is closed after its timeout, and the node refuses connections
  // beyond MAX_CONNECTIONS (with a 503, so a flood cannot use up the process's file descriptors).
  BODY_TIMEOUT_MS: ms(100, 600_000, 10_000),
  HTTP_HEADERS_TIMEOUT_MS: ms(100, 600_000, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: ms(100, 3_600_000, 30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: ms(100, 600_000, 5000),
  HTTP_MAX_REQUESTS_PER_SOCKET: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  // A check-in left open longer than this is a forgotten check-out: not counted, and no longer blocks a new check-in.
  LONGEST_SHIFT_HOURS: z.coerce.number().int().min(1).max(48).default(16),
  // Events (what subscribers replay from) older than this are pruned; check-ins are kept. 0: keep forever.
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(35),
  EVENT_RETENTION_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  // Events deleted per short transaction.
  EVENT_RETENTION_BATCH: z.coerce.number().int().min(1).max(10_000).default(1000),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  // Wrong PINs a badge may have in one window before it is refused until the window ends.
  PIN_ATTEMPTS_MAX: z.coerce.number().int().min(1).max(1000).default(5),
  PIN_ATTEMPTS_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(900),
  // Who may ask. ADMIN_TOKEN provisions the first admin's API token (scripts, compose); without it the
  // hub makes one at first start and logs it once. AUTH_ENABLED=false (loopback only) lets anyone act
  // as an admin: for local experiments and benchmarks, never for a hub others can reach.
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').max(256).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  // What a metrics scraper sends as its bearer token for /metrics (then nothing else opens it); unset,
  // /metrics takes any admin credential.
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').max(256).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  AUTH_ENABLED: flag.default(true),
  SESSION_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(12),
  // Signed-in sessions send their cookie only over HTTPS when true (set it behind TLS).
  SESSION_COOKIE_SECURE: flag.default(false),
  // How long a node trusts a credential it has looked up before asking PostgreSQL again; a revocation
  // reaches every node at once through Redis, and within this on a node Redis could not tell.
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(1).max(300).default(5),
  // The older Attendance API's clients sent no credentials: let them use its five routes anonymously.
  LEGACY_ANONYMOUS: flag.default(false),
  // Wrong passwords: each one slows the next answer for that user and IP; past these counts within the
  // window they are refused until it ends.
  LOGIN_FAILURES_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(20),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(900),
  // Requests per window, per credential and per client IP (shared by all nodes through Redis).
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  RATE_LIMIT_PER_TOKEN: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).max(10_000_000).default(2000),
  // Sockets (per node), socket events and socket payloads.
  SOCKETS_PER_TOKEN: z.coerce.number().int().min(1).max(1_000_000).default(100),
  SOCKETS_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(500),
  SOCKET_EVENTS_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(20),
  SOCKET_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  // Server-Sent Events streams (per node): how many one credential may hold open, how often a comment
  // line goes out so that proxies keep a quiet stream, and how much a slow reader may leave unread
  // before it is let go (it resumes with Last-Event-ID).
  // Webhooks: a receiver has WEBHOOK_TIMEOUT_MS to answer; a failure is retried after a backoff doubling
  // from WEBHOOK_RETRY_BASE_MS up to WEBHOOK_RETRY_MAX_MS (with jitter); an endpoint failing for
  // WEBHOOK_DISABLE_AFTER_SECONDS is disabled. Due retries are looked for every WEBHOOK_POLL_MS.
  WEBHOOK_TIMEOUT_MS: ms(100, 120_000, 10_000),
  WEBHOOK_RETRY_BASE_MS: ms(10, 3_600_000, 5_000),
  WEBHOOK_RETRY_MAX_MS: ms(10, 86_400_000, 600_000),
  WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(3 * 86_400),
  WEBHOOK_POLL_MS: ms(50, 600_000, 5_000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  WEBHOOK_DELIVERY_LOG_DAYS: z.coerce.number().int().min(1).max(3650).default(14),
  SSE_STREAMS_PER_TOKEN: z.coerce.number().int().min(1).max(1_000_000).default(10),
  SSE_HEARTBEAT_MS: ms(100, 600_000, 15_000),
  SSE_MAX_BUFFERED_BYTES: z.coerce.number().int().min(64 * 1024).max(256 * 1024 * 1024).default(1024 * 1024),
  // Reverse proxies in front of the hub (nginx: 1). The client's address is then the entry they appended
  // to X-Forwarded-For, and X-Forwarded-Proto/Host say how it was reached; 0 trusts no such header.
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  // Browser origins allowed to call the API and open sockets with credentials (comma-separated); none by default.
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.url())),
  // Single sign-on, optional: bearer JWTs from this issuer, verified with its JWKS (set both or neither;
  // auth/jwt.ts checks). The claims named here give the actor's role, sites and name.
  AUTH_JWT_ISSUER: url(['https:', 'http:']).optional(),
  AUTH_JWT_JWKS_URL: url(['https:', 'http:']).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).max(1000).optional(),
  AUTH_JWT_ROLE_CLAIM: z.string().min(1).max(200).default('role'),
  AUTH_JWT_SITES_CLAIM: z.string().min(1).max(200).default('sites'),
  AUTH_JWT_NAME_CLAIM: z.string().min(1).max(200).default('name'),
});

/** Every setting the hub reads. */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

export type Config = Readonly<z.infer<typeof schema> & { DATA_DIR: string }>;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const checked = schema
  // Node refuses a headers timeout longer than the whole request's.
  .refine((c) => c.HTTP_HEADERS_TIMEOUT_MS <= c.HTTP_REQUEST_TIMEOUT_MS, {
    path: ['HTTP_HEADERS_TIMEOUT_MS'],
    message: 'must not be longer than HTTP_REQUEST_TIMEOUT_MS',
  })
  .refine((c) => c.AUTH_ENABLED || LOOPBACK.has(c.HOST), {
    path: ['AUTH_ENABLED'],
    message: 'may be false only with HOST=127.0.0.1 (or ::1, localhost): without it anyone who can reach the hub is an admin',
  });

export class ConfigError extends Error {}

/** The only reader of process.env: parse once, validate, freeze. Empty values count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw = Object.fromEntries(
    Object.keys(schema.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  );
  const parsed = checked.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid ${name}=${JSON.stringify(raw[name] ?? '')}: ${issue.message}`);
  }
  return Object.freeze({ ...parsed.data, DATA_DIR: path.resolve(parsed.data.DATA_DIR) });
}
