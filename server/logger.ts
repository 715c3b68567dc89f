import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

// Whatever an object logged holds, these never reach the log (a first admin token, shown once on
// purpose, goes under its own key).
const SECRETS = ['*.authorization', '*.cookie', '*.password', '*.pin', '*.token', '*.secret', '*.headers.authorization', '*.headers.cookie'];

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({ level: config.LOG_LEVEL, base: { service: 'attendance-hub' }, redact: { paths: SECRETS, censor: '[redacted]' } });
}

type Level = 'error' | 'warn';

/**
 * For failures that repeat by the thousand when a dependency is away: the first of each kind (by key)
 * is logged at once, the repeats are counted and logged as one line per interval.
 */
export function createRepeatLog(logger: Logger, intervalMs = 10_000) {
  const repeats = new Map<string, { level: Level; count: number; msg: string }>();
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    for (const [key, r] of repeats) if (r.count) logger[r.level]({ key, repeated: r.count, intervalMs }, `${r.msg} (repeated)`);
    repeats.clear();
  };
  return (level: Level, key: string, obj: object, msg: string) => {
    const seen = repeats.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    repeats.set(key, { level, count: 0, msg });
    logger[level](obj, msg);
    timer ??= setTimeout(flush, intervalMs).unref();
  };
}
export type RepeatLog = ReturnType<typeof createRepeatLog>;
