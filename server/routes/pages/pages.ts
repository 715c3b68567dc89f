import Router from '@koa/router';
import type { Context } from 'koa';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` (web/build.ts) writes the pages. */
export const PAGES_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * The pages' policy, replacing the API's `default-src 'none'`: scripts, styles and connections from
 * this origin only (no inline script or style, nothing from elsewhere; 'self' covers the same host's
 * WebSocket), and no framing.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

// Content-hashed names never change content: a browser may keep them for a year without asking.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// The HTML and the service worker name the current hashes: a browser must revalidate them each time.
const REVALIDATE = 'no-cache';

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

async function serve(ctx: Context, file: string, cacheControl: string): Promise<void> {
  ctx.set('Content-Security-Policy', PAGE_CSP);
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) {
    if (cacheControl === IMMUTABLE) return notFound(ctx);
    ctx.status = 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: { code: 'pages_not_built', message: 'the pages are not built: run `npm run build`' } };
    return;
  }
  ctx.set('Cache-Control', cacheControl);
  ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  ctx.length = stat.size;
  ctx.lastModified = stat.mtime;
  ctx.etag = `W/"${stat.size.toString(16)}-${stat.mtimeMs.toString(16)}"`;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  // Koa answers HEAD with the headers alone; a stream it would not read is never opened.
  if (ctx.method !== 'HEAD') ctx.body = createReadStream(file);
}

function notFound(ctx: Context): void {
  ctx.status = 404;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: { code: 'not_found', message: `no asset ${ctx.path}` } };
}
