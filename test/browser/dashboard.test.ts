import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Knex } from '../../server/db/knex.js';
import { openPage, screenshot, seriousViolations, siteClock, useBrowser } from '../support/browser.js';
import { makeSite, storeCheckins } from '../support/factories.js';
import { api, startTestHub, useTestHub } from '../support/hub.js';
import { makeUser } from '../support/signin.js';
import { startOfLocalDay } from '../../web/lib/time.js';

const PRESENT = 2000;
const BURST_PER_SECOND = 50;
const BURST_SECONDS = 3;
const BURST_ATTEMPTS = 3;

async function seed(db: Knex) {
  await makeSite(db, { id: 'S1', name: 'Berlin', timeZone: 'Europe/Berlin' });
  await makeSite(db, { id: 'S2', name: 'New York', timeZone: 'America/New_York' });
  await makeSite(db, { id: 'HALL', name: 'Hall', timeZone: 'UTC' });
  const people = [
    { id: 'A1', name: 'Anna Schmidt', site_id: 'S1' },
    { id: 'A2', name: 'Ben Ortiz', site_id: 'S2' },
    { id: 'A3', name: 'Clara Weiss', site_id: 'S1' },
    { id: 'A4', name: 'Dora Klein', site_id: 'S1' },
    { id: 'A5', name: 'Emil Braun', site_id: 'S1' },
    { id: 'A6', name: 'Frida Lang', site_id: 'S1' },
  ];
  const hall = Array.from({ length: PRESENT }, (_, i) => ({ id: `H${i}`, name: `Hall Person ${String(i).padStart(4, '0')}`, site_id: 'HALL' }));
  await db.batchInsert('employees', [...people, ...hall], 500);
  // Clara is in at Berlin, and 2,000 people are in at the hall.
  const at = new Date(Date.now() - 1000).toISOString();
  await storeCheckins(db, [{ employeeId: 'A3', siteId: 'S1', type: 'in', occurredAt: at }, ...hall.map((p) => ({ employeeId: p.id, siteId: 'HALL', type: 'in' as const, occurredAt: at }))]);
}

describe('browser: /dashboard', function () {
  const t = useTestHub({ seed });
  const b = useBrowser();

  const problems: string[] = [];
  afterEach(() => assert.deepEqual(problems.splice(0), [], 'no uncaught error and nothing refused by the CSP'));

  const open = async (url: string, viewport = { width: 1280, height: 800 }) => {
    // The screen's own zone differs from every site's: times must come out in the site's zone.
    const opened = await openPage(b.browser, { timezoneId: 'Asia/Tokyo', viewport });
    opened.page.on('close', () => problems.push(...opened.problems));
    await opened.page.goto(`${url}/dashboard`);
    return opened.page;
  };
  const withToken = async (page: Page, token: string) => {
    await page.getByLabel('Dashboard token').fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await live(page);
  };
  /** Live, or a refusal of the live connection (then failing at once with what the page says). */
  const live = async (page: Page) => {
    const status = page.locator('#status');
    await page.locator('#status[data-state="live"], #status:has-text("refused")').waitFor();
    assert.equal(await status.getAttribute('data-state'), 'live', await status.innerText());
  };
  const punch = async (employeeId: string, type = 'in') => {
    const res = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId, type });
    assert.equal(res.status, 201, res.text);
    return res.body.data as { seq: number; occurredAt: string };
  };
  const text = (page: Page, selector: string) => page.locator(selector).innerText();

  it('serves the built pages under a CSP of their own: hashed assets cached for good, the HTML revalidated', async () => {
    const html = await fetch(`${t.hub.url}/dashboard`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get('cache-control'), 'no-cache');
    const csp = html.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|https?:/);
    const body = await html.text();
    assert.doesNotMatch(body, /<script>|<script [^>]*>[^<]|style=/, 'no inline script or style');
    const assets = [...body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.equal(assets.length, 2);
    for (const asset of assets) {
      assert.match(asset, /-[A-Z0-9]{8}\.(js|css)$/, 'content-hashed');
      const res = await fetch(t.hub.url + asset);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(res.headers.get('content-type') ?? '', asset.endsWith('.js') ? /text\/javascript/ : /text\/css/);
    }
    for (const missing of ['/assets/nope-12345678.js', '/assets/..%2Fpackage.json']) assert.equal((await fetch(t.hub.url + missing)).status, 404, missing);
    // The API keeps its own strict policy.
    const apiCsp = (await fetch(`${t.hub.url}/api/v1/attendance/health`)).headers.get('content-security-policy');
    assert.match(apiCsp ?? '', /default-src 'none'/);
  });

  it('a person signs in, and a check-in posted over REST shows at once, in the site’s local time', async () => {
    await makeUser(t.hub, { username: 'mia', password: 'a long enough password', sites: ['S1', 'S2'] });
    const page = await open(t.hub.url);
    await page.getByLabel('Username').fill('mia');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await live(page);
    assert.deepEqual((await page.locator('.sites label').allInnerTexts()).map((s) => s.trim()), ['Berlin', 'New York']);
    await page.locator('#present-list li', { hasText: 'Clara Weiss' }).waitFor();

    const checkin = await punch('A1');
    const row = page.locator('#stream li', { hasText: 'Anna Schmidt' });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(`${siteClock(checkin.occurredAt, 'Europe/Berlin')}\\s+Anna Schmidt\\s+in\\s+Berlin`));
    const present = page.locator('#present-list li', { hasText: 'Anna Schmidt' });
    await present.waitFor();
    assert.match(await present.innerText(), new RegExp(siteClock(checkin.occurredAt, 'Europe/Berlin')));
    await page.waitForFunction(() => document.getElementById('present-count')?.textContent === '2');
    await screenshot(page, 'dashboard');
    assert.deepEqual(await seriousViolations(page), []);
    await page.context().close();
  });

  it('a wall screen’s dashboard token is kept by the browser and sees only its own site’s people', async () => {
    // A tablet in portrait this time: the board becomes one column.
    const page = await open(t.hub.url, { width: 768, height: 1024 });
    await screenshot(page, 'dashboard-sign-in');
    assert.deepEqual(await seriousViolations(page), []);
    await withToken(page, await t.hub.token('dashboard', ['S2']));
    // Kept: a reload goes straight to the board.
    await page.reload();
    await live(page);
    assert.deepEqual((await page.locator('.sites label').allInnerTexts()).map((s) => s.trim()), ['New York']);

    // Events come in seq order: once Ben (S2) shows, Dora (S1, just before him) would have shown too.
    await punch('A4');
    const ben = await punch('A2');
    await page.locator('#stream li', { hasText: 'Ben Ortiz' }).waitFor();
    assert.match(await text(page, '#stream'), new RegExp(siteClock(ben.occurredAt, 'America/New_York')));
    const board = await text(page, 'main');
    for (const other of ['Dora Klein', 'Clara Weiss', 'Anna Schmidt', 'Berlin']) assert.ok(!board.includes(other), `${other} must not show`);
    await screenshot(page, 'dashboard-tablet');
    await page.context().close();
  });

  it(`${PRESENT.toLocaleString('en-US')} present and ${BURST_PER_SECOND} check-ins a second: no long task over 50 ms`, async function () {
    const page = await open(t.hub.url, { width: 1920, height: 1080 });
    await withToken(page, await t.hub.token('dashboard', ['HALL']));
    await page.waitForFunction((n) => document.getElementById('present-count')?.textContent === n && document.getElementById('in-count')?.textContent === n, PRESENT.toLocaleString('en-US'));

    // A long task is wall time, so a machine busy with something else can stretch one the page did not
    // make. Work the page does makes one in every burst; a stretched one comes now and then. So a burst
    // that shows one is run again (with other people), up to BURST_ATTEMPTS in all, and every burst is reported.
    const total = BURST_PER_SECOND * BURST_SECONDS;
    const seen: number[][] = [];
    for (let attempt = 0; attempt < BURST_ATTEMPTS; attempt++) {
      const longTasks = await burst(page, attempt * total, total);
      seen.push(longTasks);
      if (!longTasks.some((d) => d > 50)) break;
    }
    await screenshot(page, 'dashboard-burst');
    assert.ok(seen.at(-1)!.every((d) => d <= 50), `a long task over 50 ms in each of ${seen.length} bursts: ${JSON.stringify(seen.map((l) => l.map(Math.round)))}`);
    await page.context().close();
  });

  /** Check out `total` of the present, 50 a second; the long tasks the page saw meanwhile. */
  const burst = async (page: Page, first: number, total: number): Promise<number[]> => {
    // Watch the main thread from here on: tasks of 50 ms or more, and the longest gap between frames.
    // (A string: tsx would wrap named functions in a helper the page does not have.)
    await page.evaluate(`
      window.watch?.disconnect();
      window.longTasks = [];
      window.watch = new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)));
      window.watch.observe({ type: 'longtask' });
      window.longestFrame = 0;
      const generation = (window.frames_ = (window.frames_ ?? 0) + 1);
      let last = performance.now();
      requestAnimationFrame(function tick(now) {
        window.longestFrame = Math.max(window.longestFrame, now - last);
        last = now;
        if (window.frames_ === generation) requestAnimationFrame(tick);
      });
    `);

    // The load: 50 check-outs a second, in tenths of a second, each among the 2,000 present.
    const perTick = BURST_PER_SECOND / 10;
    const sent: Array<Promise<unknown>> = [];
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < perTick && sent.length < total; i++) sent.push(punch(`H${first + sent.length}`, 'out'));
        if (sent.length >= total) clearInterval(timer), resolve();
      }, 100);
    });
    await Promise.all(sent);
    const seconds = (Date.now() - started) / 1000;
    const out = first + total;
    await page.waitForFunction((n) => document.getElementById('present-count')?.textContent === n, (PRESENT - out).toLocaleString('en-US'));
    await page.waitForFunction((n) => document.getElementById('out-count')?.textContent === n, out.toLocaleString('en-US'));
    const { longTasks, longestFrame } = await page.evaluate(() => {
      const w = window as any;
      w.frames_++;
      return { longTasks: w.longTasks as number[], longestFrame: w.longestFrame as number };
    });
    console.log(`      burst: ${total} check-ins in ${seconds.toFixed(1)} s; long tasks: ${longTasks.length ? longTasks.map(Math.round).join(', ') + ' ms' : 'none'}; longest frame ${Math.round(longestFrame)} ms`);
    return longTasks;
  };

  it('a check-in voided by a manager leaves the stream and the counts at once', async () => {
    const page = await open(t.hub.url);
    await withToken(page, await t.hub.token('dashboard', ['S1']));
    // What the board must show: today's check-ins at Berlin that stand, as the hub lists them.
    const standing = async () => {
      const from = new Date(startOfLocalDay(Date.now(), 'Europe/Berlin')).toISOString();
      const res = await api(t.hub, 'GET', `/api/v1/checkins?siteId=S1&from=${encodeURIComponent(from)}&limit=1000`);
      return String(res.body.data.filter((c: { type: string; voided?: unknown }) => c.type === 'in' && !c.voided).length);
    };
    const checkin = (await punch('A6')) as { eventId?: string };
    const row = page.locator('#stream li', { hasText: 'Frida Lang' });
    await row.waitFor();
    await page.waitForFunction((n) => document.getElementById('in-count')?.textContent === n, await standing());
    const res = await api(t.hub, 'POST', `/api/v1/checkins/${checkin.eventId}/void`, { reason: 'wrong badge' });
    assert.equal(res.status, 200, res.text);
    await row.waitFor({ state: 'detached' });
    await page.waitForFunction((n) => document.getElementById('in-count')?.textContent === n, await standing());
    await page.context().close();
  });

  it('a dashboard whose hub node restarts reconnects, says so, and shows what it missed', async () => {
    // A node of its own over the same database, so that stopping it leaves the other tests' node alone.
    let node = await startTestHub({ db: t.tdb.db });
    const port = node.port;
    try {
      const page = await open(node.url);
      await withToken(page, await t.hub.token('dashboard', ['S1']));
      await page.evaluate(() => {
        const w = window as any;
        w.states = [];
        const status = document.getElementById('status')!;
        new MutationObserver(() => w.states.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
      });
      await node.stop();
      await page.locator('#status[data-state="reconnecting"]').waitFor();
      await screenshot(page, 'dashboard-reconnecting');

      // Committed while the dashboard's node is down (through the other node).
      const missed = await punch('A5');
      node = await startTestHub({ db: t.tdb.db, env: { PORT: String(port) } });
      const row = page.locator('#stream li', { hasText: 'Emil Braun' });
      await row.waitFor();
      await live(page);
      assert.equal(await row.count(), 1);
      assert.match(await row.innerText(), new RegExp(siteClock(missed.occurredAt, 'Europe/Berlin')));
      const states: string[] = await page.evaluate(() => (window as any).states);
      assert.ok(states.some((s) => s.startsWith('Reconnecting')), states.join(' | '));
      assert.ok(states.some((s) => s.startsWith('Catching up')), states.join(' | '));
      await page.context().close();
    } finally {
      await node.stop();
    }
  });
});
