import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { openPage, screenshot, seriousViolations, siteClock, useBrowser } from '../support/browser.js';
import { makeSite } from '../support/factories.js';
import { api, useTestHub } from '../support/hub.js';

const ZONE = 'Europe/Lisbon';

describe('browser: /kiosk', function () {
  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'K1', name: 'Lisbon', timeZone: ZONE });
      await makeSite(db, { id: 'K2', name: 'Porto', timeZone: ZONE });
    },
    env: { PIN_ATTEMPTS_MAX: '3' },
  });
  const b = useBrowser();
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  before(async () => {
    for (const e of [
      { id: 'E-ANNA', name: 'Anna Schmidt', siteId: 'K1', badge: 'BADGE-ANNA', pin: '4321' },
      { id: 'E-LUIS', name: 'Luis Costa', siteId: 'K1', badge: 'BADGE-LUIS' },
      { id: 'E-OTTO', name: 'Otto Lange', siteId: 'K1', badge: 'BADGE-OTTO', pin: '1111' },
      { id: 'E-NINA', name: 'Nina Ortega', siteId: 'K1', badge: 'BADGE-NINA' },
      { id: 'E-OMAR', name: 'Omar Haddad', siteId: 'K1', badge: 'BADGE-OMAR', pin: '2468' },
    ]) {
      const res = await api(t.hub, 'POST', '/api/v1/employees', e);
      assert.equal(res.status, 201, res.text);
    }
    // A tablet in landscape, in a zone of its own: the kiosk speaks its site's time.
    ({ page, problems } = await openPage(b.browser, { timezoneId: 'America/Los_Angeles', viewport: { width: 1024, height: 768 }, hasTouch: true }));
    context = page.context();
  });
  afterEach(() => assert.deepEqual(problems.splice(0), [], 'no uncaught error and nothing refused by the CSP'));
  after(() => context?.close());

  /** A keyboard-wedge scanner: the badge's characters, then Enter, into whatever has focus. */
  const scan = async (badge: string) => {
    await page.keyboard.type(badge);
    await page.keyboard.press('Enter');
  };
  const pin = async (digits: string) => {
    for (const d of digits) await page.getByRole('button', { name: d, exact: true }).click();
    await page.getByRole('button', { name: 'OK' }).click();
  };
  const headline = (kind: string) => page.locator(`.result.${kind} .headline`);
  const readyForScan = () => page.locator('#badge:focus').waitFor();
  const rows = (employeeId: string) => t.tdb.db('checkins').where({ employee_id: employeeId }).orderBy('seq');

  it('is set up once with a kiosk token and its site', async () => {
    await page.goto(`${t.hub.url}/kiosk`);
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByLabel('Kiosk token').fill(await t.hub.token('kiosk', ['K1']));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Site').selectOption('K1');
    await page.getByRole('button', { name: 'Start kiosk' }).click();
    await readyForScan();
    await page.locator('#queue', { hasText: 'Online' }).waitFor();
    await screenshot(page, 'kiosk-ready');
    assert.deepEqual(await seriousViolations(page), []);
    // Kept by the browser: a reload comes back ready.
    await page.reload();
    await readyForScan();
    assert.equal(await page.locator('h1').innerText(), 'Lisbon');
  });

  it('a badge with a PIN: a wrong PIN says what happens next, the right one checks in, then the kiosk is ready again by itself', async () => {
    await scan('BADGE-ANNA');
    await page.getByRole('heading', { name: 'Hello, Anna Schmidt' }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await pin('9999');
    await page.locator('#pin-error', { hasText: 'Wrong PIN. Try again. After several wrong PINs this badge is locked' }).waitFor();
    await screenshot(page, 'kiosk-pin');
    await pin('4321');
    await headline('ok').waitFor();
    const [stored] = await rows('E-ANNA');
    assert.equal(stored.type, 'in');
    assert.match(stored.device_id, /^kiosk-/);
    assert.equal(await headline('ok').innerText(), `Checked in: Anna Schmidt, ${siteClock(stored.occurred_at.toISOString(), ZONE)}`);
    await screenshot(page, 'kiosk-checked-in');
    assert.deepEqual(await seriousViolations(page), []);
    await readyForScan();

    // Without a PIN, a scan is a punch; toggle decides in or out.
    await scan('BADGE-LUIS');
    await page.locator('.result.ok .headline', { hasText: /^Checked in: Luis Costa, \d\d:\d\d$/ }).waitFor();
  });

  it('an unknown badge, and a badge locked after too many wrong PINs, are told plainly', async () => {
    // The next scan may come while an answer still shows.
    await scan('NO-SUCH-BADGE');
    await headline('error').filter({ hasText: 'Unknown badge' }).waitFor();
    await scan('BADGE-OTTO');
    for (let i = 0; i < 3; i++) {
      await page.getByRole('heading', { name: 'Hello, Otto Lange' }).waitFor();
      await pin('0000');
      await page.locator('#pin-error', { hasText: 'Wrong PIN' }).waitFor();
    }
    await pin('1111');
    await headline('error').filter({ hasText: 'Badge locked' }).waitFor();
    assert.match(await page.locator('.result .detail').innerText(), /Too many wrong PINs\. Try again in 15 minutes, or ask a manager\./);
    assert.equal((await rows('E-OTTO')).length, 0);
  });

  it('offline, punches queue on the device, survive a reload, and sync once each when the hub is back', async () => {
    // The worker keeps the page and its assets: the kiosk loads without the hub.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await context.setOffline(true);
    await page.locator('#queue', { hasText: 'Offline' }).waitFor();

    // A badge seen before needs no look-up; unseen ones ask for a PIN, which may be skipped.
    await scan('BADGE-LUIS');
    await headline('queued').filter({ hasText: 'Saved: Luis Costa' }).waitFor();
    await scan('BADGE-NINA');
    await page.getByRole('button', { name: 'I have no PIN' }).click();
    await headline('queued').filter({ hasText: 'Saved: Badge BADGE-NINA' }).waitFor();
    await scan('BADGE-OMAR');
    await page.getByRole('heading', { name: 'Badge BADGE-OMAR' }).waitFor();
    await pin('2468');
    await headline('queued').waitFor();
    await page.locator('#queue', { hasText: '3 punches waiting to sync' }).waitFor();
    await screenshot(page, 'kiosk-offline');

    const queued: string[] = await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open('hub-kiosk');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const keys = open.result.transaction('punches').objectStore('punches').getAllKeys();
            keys.onsuccess = () => resolve(keys.result as string[]);
          };
        }),
    );
    assert.equal(queued.length, 3);

    await page.reload();
    await readyForScan();
    await page.locator('#queue', { hasText: '3 punches waiting to sync' }).waitFor();

    await context.setOffline(false);
    await page.locator('#queue').filter({ hasText: /^Online$/ }).waitFor();
    const stored = await t.tdb.db('checkins').whereIn('event_id', queued).select('event_id', 'employee_id', 'type');
    assert.deepEqual(stored.map((r) => r.event_id).sort(), [...queued].sort(), 'each queued punch stored exactly once');
    assert.deepEqual(Object.fromEntries(stored.map((r) => [r.employee_id, r.type])), { 'E-LUIS': 'out', 'E-NINA': 'in', 'E-OMAR': 'in' });
    assert.equal((await rows('E-LUIS')).length, 2);
  });
});
