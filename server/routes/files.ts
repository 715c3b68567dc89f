import type { Context } from 'koa';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The policy of the hub's own pages (the screens, the API docs), replacing the API's `default-src
 * 'none'`: scripts, styles and connections from this origin only (no inline script or style, nothing
 * from elsewhere; 'self' covers the same host's WebSocket), and no framing.
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
  '.png': 'image/png',
};

// Content-hashed names never change content: a browser may keep them for a year without asking.
export const IMMUTABLE = 'public, max-age=31536000, immutable';
// Names that stay while their content changes: a browser must revalidate them each time.
export const REVALIDATE = 'no-cache';

/**
 * Answers with a file, under the page policy, with validators (a 304 when the browser's copy is
 * fresh); false, with nothing sent, when there is no such file.
 */
export async function sendFile(ctx: Context, file: string, cacheControl: string): Promise<boolean> {
  ctx.set('Content-Security-Policy', PAGE_CSP);
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) return false;
  ctx.set('Cache-Control', cacheControl);
  ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  ctx.length = stat.size;
  ctx.lastModified = stat.mtime;
  ctx.etag = `W/"${stat.size.toString(16)}-${stat.mtimeMs.toString(16)}"`;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return true;
  }
  // Koa answers HEAD with the headers alone; a stream it would not read is never opened.
  if (ctx.method !== 'HEAD') ctx.body = createReadStream(file);
  return true;
}

export function notFound(ctx: Context): void {
  ctx.status = 404;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: { code: 'not_found', message: `no asset ${ctx.path}` } };
}
