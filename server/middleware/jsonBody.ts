import { bodyParser } from '@koa/bodyparser';
import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';

/** JSON bodies only, up to limitBytes; any other content type is refused rather than read as empty. */
export function jsonBody(limitBytes: number) {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limitBytes, jsonStrict: true });
  return async (ctx: Context, next: Next) => {
    // is() answers null when there is no body and false when the body is of another type.
    if (ctx.is('application/json') === false) {
      throw new AppError(415, 'unsupported_media_type', 'send the body as application/json');
    }
    await parse(ctx, next);
  };
}
