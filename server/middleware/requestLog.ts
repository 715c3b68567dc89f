import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';

/** One line per request (its requestId comes from the logger's mixin, as on every line logged for it). */
export function requestLog(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const line = { method: ctx.method, path: ctx.path, status: ctx.status, ms, actor: ctx.state.actor?.id };
      // A 503 is the hub saying a dependency is away; its cause is logged (once per interval) where it is handled.
      if (ctx.status >= 500 && ctx.status !== 503) logger.error(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
