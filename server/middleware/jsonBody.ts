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
      // What is left of a body that failed is never read (it may never come): the connection cannot
      // carry another request after it.
      ctx.set('Connection', 'close');
      // Whatever else the decoder throws (zlib's Z_*, brotli's ERR_*), the body is not in its encoding.
      const httpError = typeof (err as { status?: unknown }).status === 'number';
      if (!httpError && ctx.get('Content-Encoding')) throw new AppError(415, 'unsupported_media_type', 'the body is not encoded as its Content-Encoding says');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await next();
  };
}
