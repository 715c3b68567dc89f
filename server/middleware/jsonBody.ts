import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import { AppError } from '../errors.js';

/**
 * JSON bodies only, up to limitBytes and within timeoutMs (a body that stalls must not hold the
 * connection); any other content type is refused rather than read as empty.
 */
export function jsonBody(limits: { limitBytes: number; timeoutMs: number }): Middleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limits.limitBytes, jsonStrict: true });
  return async (ctx: Context, next: Next) => {
    // is() answers null when there is no body and false when the body is of another type.
    if (ctx.is('application/json') === false) {
      throw new AppError(415, 'unsupported_media_type', 'send the body as application/json');
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AppError(408, 'request_timeout', `the body did not arrive within ${limits.timeoutMs} ms`)), limits.timeoutMs);
    });
    try {
      await Promise.race([parse(ctx, async () => undefined), late]);
    } catch (err) {
      // The rest of the body may never come: do not keep the connection waiting for it.
      if (err instanceof AppError && err.status === 408) ctx.set('Connection', 'close');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await next();
  };
}
