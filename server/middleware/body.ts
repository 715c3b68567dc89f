import { bodyParser } from '@koa/bodyparser';

type BodyParserOptions = NonNullable<Parameters<typeof bodyParser>[0]>;
import type { Context, Middleware, Next } from 'koa';
import { AppError } from '../errors.js';

/** What a route reads its body as: JSON (parsed), or CSV (text, parsed by the service that knows its columns). */
const KINDS: Record<'json' | 'csv', { mediaType: string; options: BodyParserOptions }> = {
  json: { mediaType: 'application/json', options: { enableTypes: ['json'], jsonStrict: true } },
  csv: { mediaType: 'text/csv', options: { enableTypes: ['text'], extendTypes: { text: ['text/csv'] } } },
};

/**
 * A body of one media type only, up to limitBytes and within timeoutMs (a body that stalls must not
 * hold the connection); any other content type is refused rather than read as empty.
 */
export function requestBody(kind: keyof typeof KINDS, limits: { limitBytes: number; timeoutMs: number }): Middleware {
  const { mediaType, options } = KINDS[kind];
  const parse = bodyParser({ ...options, jsonLimit: limits.limitBytes, textLimit: limits.limitBytes });
  return async (ctx: Context, next: Next) => {
    // is() answers null when there is no body and false when the body is of another type.
    if (ctx.is(mediaType) === false) {
      throw new AppError(415, 'unsupported_media_type', `send the body as ${mediaType}`);
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
