import type { Context, Next } from 'koa';
import { AppError, toAppError } from '../errors.js';
import type { RepeatLog } from '../logger.js';

/**
 * The one place errors become responses: `{ error: { code, message, details } }`, with Retry-After
 * where a retry makes sense. A 5xx is logged with its cause (once per kind and interval: an outage
 * fails every request the same way) and answered without internals. Routes may set
 * ctx.state.renderError for older shapes.
 */
export function errorHandler(log: RepeatLog) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const error = toAppError(err);
      if (error.status >= 500) {
        const cause = (err as Error)?.message ?? String(err);
        log(error.status === 503 ? 'warn' : 'error', `${error.code}:${cause}`, { err, method: ctx.method, path: ctx.path }, 'request failed');
      }
      ctx.status = error.status;
      if (error.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.retryAfterSeconds));
      const render = ctx.state.renderError as ((e: AppError) => unknown) | undefined;
      ctx.body = render ? render(error) : { error: error.body() };
    }
  };
}
