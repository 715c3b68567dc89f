import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/**
 * Bundles the two screens into web/dist: content-hashed scripts, styles and shared chunks under
 * assets/ (served as immutable), each page's HTML naming its hashed files, and the kiosk's service
 * worker, which lists them to keep the kiosk loadable offline. Run by `npm start` (prestart) and by
 * the browser tests; takes well under a second.
 */
const WEB = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(WEB, 'dist');
const ASSETS = path.join(DIST, 'assets');
const PAGES = ['dashboard', 'kiosk'] as const;

export async function build(): Promise<void> {
  const bundled = await esbuild.build({
    absWorkingDir: WEB,
    entryPoints: Object.fromEntries(PAGES.map((p) => [p, `${p}/main.ts`])),
    outdir: ASSETS,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const outputs = bundled.metafile.outputs;
  const url = (file: string) => `/assets/${path.basename(file)}`;
  const written = new Map<string, Uint8Array | string>(bundled.outputFiles.map((f) => [f.path, f.contents]));

  // What each page loads: its entry's script, the chunks it imports, and its stylesheet.
  const files = (page: string) => {
    const entry = Object.keys(outputs).find((o) => outputs[o]!.entryPoint === `${page}/main.ts`)!;
    const chunks = new Set<string>();
    const visit = (o: string) => {
      for (const i of outputs[o]!.imports) if (i.kind === 'import-statement' && !chunks.has(i.path)) chunks.add(i.path), visit(i.path);
    };
    visit(entry);
    return { script: url(entry), style: url(outputs[entry]!.cssBundle!), chunks: [...chunks].map(url) };
  };

  for (const page of PAGES) {
    const { script, style } = files(page);
    const template = await fs.readFile(path.join(WEB, page, 'page.html'), 'utf8');
    const html = template.replace('{{style}}', style).replace('{{script}}', script);
    written.set(path.join(DIST, `${page}.html`), html);
  }

  // The worker's own content changes whenever an asset does, so browsers pick up a new build.
  const kiosk = files('kiosk');
  const cached = ['/kiosk', kiosk.script, kiosk.style, ...kiosk.chunks];
  const version = createHash('sha256').update(cached.join('\n')).digest('hex').slice(0, 12);
  const worker = await esbuild.build({
    absWorkingDir: WEB,
    entryPoints: ['kiosk/sw.ts'],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    minify: true,
    write: false,
    define: { __CACHED__: JSON.stringify(cached), __VERSION__: JSON.stringify(version) },
    logLevel: 'warning',
  });
  written.set(path.join(DIST, 'kiosk-sw.js'), worker.outputFiles[0]!.contents);

  await fs.mkdir(ASSETS, { recursive: true });
  // Two builds may run at once (parallel test files): each file appears whole, by rename.
  for (const [file, contents] of written) {
    const temp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temp, contents);
    await fs.rename(temp, file);
  }
  // Assets of earlier builds go; another build's files in flight (.tmp) are left alone.
  for (const name of await fs.readdir(ASSETS)) {
    const file = path.join(ASSETS, name);
    if (!written.has(file) && !name.endsWith('.tmp')) await fs.rm(file, { force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  await build();
  console.log(`pages built into ${path.relative(process.cwd(), DIST) || DIST} in ${Math.round(performance.now() - started)} ms`);
}
