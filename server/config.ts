import path from 'node:path';
import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z.url().refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
    message: `must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL`,
  });

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
  CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  // A check-in left open longer than this is a forgotten check-out: not counted, and no longer blocks a new check-in.
  LONGEST_SHIFT_HOURS: z.coerce.number().int().min(1).max(48).default(16),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  // Wrong PINs a badge may have in one window before it is refused until the window ends.
  PIN_ATTEMPTS_MAX: z.coerce.number().int().min(1).max(1000).default(5),
  PIN_ATTEMPTS_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(900),
});

export type Config = Readonly<z.infer<typeof schema> & { DATA_DIR: string }>;

export class ConfigError extends Error {}

/** The only reader of process.env: parse once, validate, freeze. Empty values count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw = Object.fromEntries(
    Object.keys(schema.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  );
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid ${name}=${JSON.stringify(raw[name] ?? '')}: ${issue.message}`);
  }
  return Object.freeze({ ...parsed.data, DATA_DIR: path.resolve(parsed.data.DATA_DIR) });
}
