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
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  // Wrong PINs a badge may have in one window before it is refused until the window ends.
  PIN_ATTEMPTS_MAX: z.coerce.number().int().min(1).max(1000).default(5),
  PIN_ATTEMPTS_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(900),
});

export type Config = Readonly<z.infer<typeof schema> & { DATA_DIR: string }>;

// Node refuses a headers timeout longer than the whole request's.
const checked = schema.refine((c) => c.HTTP_HEADERS_TIMEOUT_MS <= c.HTTP_REQUEST_TIMEOUT_MS, {
  path: ['HTTP_HEADERS_TIMEOUT_MS'],
  message: 'must not be longer than HTTP_REQUEST_TIMEOUT_MS',
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
