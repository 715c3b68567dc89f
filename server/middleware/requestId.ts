import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import { requestContext } from '../logger.js';

// A caller's id is kept only if it is short and plain: it goes into logs and the audit log.
const CALLER_ID = /^[\w.:-]{1,128}$/;

/**
 * Every request has an id: the caller's X-Request-Id when it is a sane one, else a new one; it is
 * sent back. A new one is this process's random prefix and a count: unique across nodes and
 * restarts, and cheaper than a UUID on every request.
 */
export function requestId() {
  const prefix = randomBytes(6).toString('base64url');
  let n = 0;
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('X-Request-Id');
    ctx.state.requestId = CALLER_ID.test(given) ? given : `${prefix}-${(++n).toString(36)}`;
    ctx.set('X-Request-Id', ctx.state.requestId);
    // Every line logged while serving it, however deep, carries the id (the logger's mixin reads it).
    await requestContext.run({ requestId: ctx.state.requestId }, next);
  };
}
