import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

type HttpLikeError = Error & { status?: number; statusCode?: number };

/** Anything thrown below becomes an AppError: known client mistakes keep their code, the rest is a 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as HttpLikeError;
  const status = e?.status ?? e?.statusCode;
  if (status === 413) return new AppError(413, 'payload_too_large', 'request body is too large');
  if (status === 415) return new AppError(415, 'unsupported_media_type', e.message);
  // co-body marks a body it cannot parse as a 400 SyntaxError.
  if (status === 400 && e instanceof SyntaxError) return new AppError(400, 'invalid_json', 'request body is not valid JSON');
  if (status === 405) return new AppError(405, 'method_not_allowed', e.message);
  if (status === 501) return new AppError(405, 'method_not_allowed', e.message);
  if (status && status >= 400 && status < 500) return new AppError(status, 'bad_request', e.message);
  return new AppError(500, 'internal', 'internal server error');
}

/**
 * The one place errors become responses: `{ error: { code, message, details } }`. A 5xx is logged
 * with its cause and answered without internals. Routes may set ctx.state.renderError for older shapes.
 */
export function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const error = toAppError(err);
      if (error.status >= 500) logger.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = error.status;
      const render = ctx.state.renderError as ((e: AppError) => unknown) | undefined;
      ctx.body = render ? render(error) : { error: error.body() };
    }
  };
}
