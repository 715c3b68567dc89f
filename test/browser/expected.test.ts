import assert from 'node:assert/strict';
import type { Knex } from '../../server/db/knex.js';
import { openPage, screenshot, seriousViolations, useBrowser } from '../support/browser.js';
import { makeEmployee, makeSite } from '../support/factories.js';
import { api, useTestHub } from '../support/hub.js';

const MINUTE = 60_000;

async function seed(db: Knex) {
  await makeSite(db, { id: 'S', name: 'Depot', timeZone: 'UTC' });
  await makeEmployee(db, { id: 'A', name: 'Anna Schmidt', siteId: 'S' });
  await makeEmployee(db, { id: 'B', name: 'Ben Ortiz', siteId: 'S' });
}

/**
 * "Expected, not in" on the dashboard. The hub's clock stands still where the test puts it (just
 * before a minute turns), so what the page is told is known; the page counts lateness on from there
 * with its own clock.
 */
describe('browser: /dashboard, expected and not in', function () {
  let now = new Date();
  const t = useTestHub({ seed, clock: () => now });
  const b = useBrowser();

  it('lists who is late and ticks, asks again when a shift starts (not before), and drops a person the moment they check in', async () => {
    // B: the next whole minute. Anna's shift started 15 minutes before it; Ben's starts at it.
    const turn = Math.ceil((Date.now() + 1) / MINUTE) * MINUTE;
    const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
    now = new Date(turn - 5000);
    for (const [id, start] of [
      ['early', turn - 15 * MINUTE],
      ['next', turn],
    ] as const) {
      const res = await api(t.hub, 'POST', '/api/v1/sites/S/shifts', { id, name: id === 'early' ? 'Early' : 'Next', start: hhmm(start), end: hhmm(start + 240 * MINUTE), weekdays: [1, 2, 3, 4, 5, 6, 7] });
      assert.equal(res.status, 201, res.text);
    }
    for (const [employee, shiftId] of [
      ['A', 'early'],
      ['B', 'next'],
    ]) assert.equal((await api(t.hub, 'POST', `/api/v1/employees/${employee}/shift-assignments`, { shiftId, from: '2020-01-01' })).status, 201);

    const { page, problems } = await openPage(b.browser, { timezoneId: 'Asia/Tokyo', viewport: { width: 1280, height: 800 } });
    const asked: Array<{ sent: number; answered?: number }> = [];
    page.on('request', (r) => void (r.url().includes('/api/v1/presence?') && asked.push({ sent: Date.now() })));
    page.on('response', (r) => void (r.url().includes('/api/v1/presence?') && (asked.at(-1)!.answered = Date.now())));
    await page.goto(`${t.hub.url}/dashboard`);
    await page.getByLabel('Dashboard token').fill(await t.hub.token('dashboard', ['S']));
    await page.getByRole('button', { name: 'Use token' }).click();

    // 14 min 55 s after Anna's start: 14 minutes; five seconds on, the minute turns on the page's count.
    const anna = page.locator('#expected-list li', { hasText: 'Anna Schmidt' });
    await anna.filter({ hasText: 'Early' }).filter({ hasText: '14 min late' }).waitFor();
    assert.equal(await page.locator('#expected-list li', { hasText: 'Ben Ortiz' }).count(), 0);

    // The hub's time moves past Ben's start; the page asks again at `changesAt`, and he is due.
    now = new Date(turn + 5000);
    await anna.filter({ hasText: '15 min late' }).waitFor();
    await page.locator('#expected-list li', { hasText: 'Ben Ortiz' }).filter({ hasText: 'Next' }).filter({ hasText: 'due now' }).waitFor();
    // Not polled: the second request waited for changesAt, 5 s after the first answer's asOf.
    assert.ok(asked.length >= 2 && asked[1]!.sent - asked[0]!.answered! >= 5000, `asked again ${asked[1] && asked[1].sent - asked[0]!.answered!} ms after the answer`);
    await screenshot(page, 'dashboard-expected');
    assert.deepEqual(await seriousViolations(page), []);

    // Anna checks in: her check-in's event takes her off, without another request.
    const before = asked.length;
    assert.equal((await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'A', type: 'in' })).status, 201);
    await anna.waitFor({ state: 'detached' });
    await page.locator('#present-list li', { hasText: 'Anna Schmidt' }).waitFor();
    assert.equal(asked.length, before, 'no request for the arrival');
    assert.equal(await page.locator('#expected-list li').count(), 1);
    await page.context().close();
    assert.deepEqual(problems, [], 'no uncaught error and nothing refused by the CSP');
  });
});
