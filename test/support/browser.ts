import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { build } from '../../web/build.js';

/** Debian's chromium (DESIGN.md: `npx playwright install` cannot work on this machine). */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Ignored by git; rewritten on every run. */
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let warned = false;

/** Browser tests are pending without chromium, except under CI=true, where they must fail instead (as with Redis). */
function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing, and CI=true requires the browser tests to run (apt-get install -y chromium)`);
  if (!warned) console.warn(`  (${CHROMIUM} is missing: browser tests are pending; apt-get install -y chromium)`);
  warned = true;
  ctx.skip();
}

/**
 * One chromium for the enclosing describe block, over freshly built pages. Playwright gives each
 * launch a fresh --user-data-dir of its own, and each test a fresh context (cookies, storage).
 */
export function useBrowser(): { browser: Browser } {
  const ctx = {} as { browser: Browser };
  before(async function () {
    requireChromium(this);
    await build();
    ctx.browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  after(async () => {
    await ctx.browser?.close();
  });
  return ctx;
}

/**
 * A page in a context of its own, and what went wrong in it: uncaught errors, and anything the
 * Content-Security-Policy refused (an inline script or style would show here).
 */
export async function openPage(browser: Browser, options: BrowserContextOptions): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) problems.push(m.text());
  });
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** axe-core's serious and critical findings on the page as it is now, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated by the DevTools protocol, which the page's CSP (no inline script) does not govern.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await (window as any).axe.run(document, { resultTypes: ['violations'] })).violations);
  return violations
    .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: { id: string; help: string; nodes: Array<{ target: string[] }> }) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** "08:59": a time as the people of a site in that zone read it (worked out here independently of the pages' code). */
export function siteClock(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}
