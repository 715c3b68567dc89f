import Router from '@koa/router';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Its folder only: the package's main module would load the whole 1.8 MB browser bundle into Node.
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import { createOpenApiDocument } from '../../../shared/openapi.js';
import { notFound, REVALIDATE, sendFile } from '../files.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SWAGGER_UI = getAbsoluteFSPath();
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** What /apidocs/:file serves: Swagger UI's script, styles and icons from its npm package, and the page's initializer. */
const FILES = new Map([
  ...['swagger-ui-bundle.js', 'swagger-ui-bundle.js.map', 'swagger-ui.css', 'swagger-ui.css.map', 'index.css', 'favicon-32x32.png', 'favicon-16x16.png'].map(
    (name) => [name, path.join(SWAGGER_UI, name)] as const,
  ),
  ['apidocs.js', path.join(HERE, 'apidocs.js')],
]);

/**
 * The API's documentation, open to anyone: the OpenAPI document made from the contract in shared/
 * (once, when the app is built), and Swagger UI over it at /apidocs, the older service's path, all
 * from this origin under the pages' Content-Security-Policy.
 */
export function docsRouter() {
  const document = JSON.stringify(createOpenApiDocument({ version }));
  const router = new Router();
  router.get('/api/v1/openapi.json', (ctx) => {
    ctx.set('Cache-Control', REVALIDATE);
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = document;
  });
  router.get('/apidocs', async (ctx) => {
    await sendFile(ctx, path.join(HERE, 'apidocs.html'), REVALIDATE);
  });
  router.get('/apidocs/:file', async (ctx) => {
    const file = FILES.get(ctx.params.file ?? '');
    if (!file || !(await sendFile(ctx, file, REVALIDATE))) notFound(ctx);
  });
  return router;
}
