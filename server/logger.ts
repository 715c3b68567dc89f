import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * The request being served (set by the request-id middleware), whatever code logs deep below it: every
 * line logged on its behalf carries its requestId.
 */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Work that serves many requests or none (a group commit, a timer it starts) runs outside the request
 * that happened to start it, so its lines are not put down to that one request.
 */
export const outsideRequests = <T>(fn: () => T): T => requestContext.exit(fn);

// Whatever an object logged holds, these never reach the log (a first admin token, shown once on
// purpose, goes under its own key).
const SECRETS = ['*.authorization', '*.cookie', '*.password', '*.pin', '*.token', '*.secret', '*.headers.authorization', '*.headers.cookie'];

/** The hub's logger (JSON lines on stdout, unless given another destination). */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.LOG_LEVEL,
    base: { service: 'attendance-hub' },
    redact: { paths: SECRETS, censor: '[redacted]' },
    // A new object each time: pino merges the line's fields into it.
    mixin: () => {
      const request = requestContext.getStore();
      return request ? { requestId: request.requestId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
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
    // The repeats it counts come from many requests.
    timer ??= outsideRequests(() => setTimeout(flush, intervalMs).unref());
  };
}
export type RepeatLog = ReturnType<typeof createRepeatLog>;
