import type { Context, Next } from 'koa';
import type { Recorder } from '../metrics/index.js';

// Requests no route took (unknown paths, and those answered before routing: rate limits, sign-in
// required) share one label, so a scan of random URLs cannot grow the metrics without bound.
const UNMATCHED = 'unmatched';

/** Each request's duration, by method, the route pattern that took it (never the raw path) and status. */
export function requestMetrics(metrics: Pick<Recorder, 'request'>) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? UNMATCHED;
      metrics.request(ctx.method, route, ctx.status, (performance.now() - started) / 1000);
    }
  };
}
