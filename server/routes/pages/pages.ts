import Router from '@koa/router';
import type { Context } from 'koa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMMUTABLE, notFound, REVALIDATE, sendFile } from '../files.js';

/** Where `npm run build` (web/build.ts) writes the pages. */
export const PAGES_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * The two screens and their built assets, public like any web page (the data they fetch is not).
 * Mounted before authentication. A build that is missing answers 503 and says how to make it.
 */
export function pagesRouter(opts: { dist?: string } = {}) {
  const dist = opts.dist ?? PAGES_DIST;
  const router = new Router();
  router.get('/dashboard', (ctx) => serve(ctx, path.join(dist, 'dashboard.html'), REVALIDATE));
  router.get('/kiosk', (ctx) => serve(ctx, path.join(dist, 'kiosk.html'), REVALIDATE));
  // At the root so that its scope can take in /kiosk (a worker controls only paths under its own).
  router.get('/kiosk-sw.js', (ctx) => serve(ctx, path.join(dist, 'kiosk-sw.js'), REVALIDATE));
  router.get('/assets/:file', (ctx) => {
    const file = ctx.params.file ?? '';
    // Built names only: letters, digits, dash, dot; never a path.
    if (!/^[\w-]+(\.[\w-]+)*$/.test(file)) return notFound(ctx);
    return serve(ctx, path.join(dist, 'assets', file), IMMUTABLE);
  });
  return router;
}

/** A hashed asset that is not there is a 404; a page that is not there means the build has not run. */
async function serve(ctx: Context, file: string, cacheControl: string): Promise<void> {
  if (await sendFile(ctx, file, cacheControl)) return;
  if (cacheControl === IMMUTABLE) return notFound(ctx);
  ctx.status = 503;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: { code: 'pages_not_built', message: 'the pages are not built: run `npm run build`' } };
}
