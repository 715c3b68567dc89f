import assert from 'node:assert/strict';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();

/**
 * The same REST calls against a hub with LONGEST_SHIFT_HOURS=2 and one with the default 16 h: only the
 * setting tells an `in` 3 h ago (or 3 h before another punch) from a shift still under way.
 */
for (const { label, env, long } of [
  { label: 'LONGEST_SHIFT_HOURS=2', env: { LONGEST_SHIFT_HOURS: '2' }, long: false },
  { label: 'the default longest shift (16 h)', env: undefined, long: true },
]) {
  describe(`check-ins, presence and reports with ${label}`, () => {
    const t = useTestHub({
      env,
      seed: async (db) => {
        await makeSite(db, { id: 'S1' });
        for (const id of ['L1', 'L2', 'L3', 'L4', 'L5']) await makeEmployee(db, { id, siteId: 'S1' });
      },
    });
    const post = (body: Record<string, string>) => api(t.hub, 'POST', '/api/v1/checkins', body);

    it(`an in 3 h ago ${long ? 'still blocks' : 'no longer blocks'} a new in; one 1 h ago blocks it`, async () => {
      const first = await post({ employeeId: 'L1', type: 'in', occurredAt: hoursAgo(3) });
      assert.equal(first.status, 201);
      const again = await post({ employeeId: 'L1', type: 'in' });
      if (long) assert.equal(again.body.error?.code, 'already_checked_in');
      else assert.equal(again.status, 201, again.text);

      assert.equal((await post({ employeeId: 'L2', type: 'in', occurredAt: hoursAgo(1) })).status, 201);
      assert.equal((await post({ employeeId: 'L2', type: 'in' })).body.error?.code, 'already_checked_in');
      assert.equal((await post({ employeeId: 'L4', type: 'in', occurredAt: hoursAgo(3) })).status, 201);

      // Presence shows the open check-in each employee has by this setting.
      const present = (await api(t.hub, 'GET', '/api/v1/presence?siteId=S1')).body.data;
      const since = (id: string) => present.find((p: { employeeId: string }) => p.employeeId === id)?.since;
      assert.deepEqual(present.map((p: { employeeId: string }) => p.employeeId).sort(), long ? ['L1', 'L2', 'L4'] : ['L1', 'L2']);
      assert.equal(since('L1'), (long ? first : again).body.data.occurredAt);
    });

    it(`the daily report ${long ? 'counts an in and an out 3 h or 4 h apart' : 'flags an in with no out within 2 h missing_checkout'}`, async () => {
      const statuses = [];
      for (const [type, at] of [
        ['in', '2026-06-01T08:00:00Z'],
        ['in', '2026-06-01T11:00:00Z'],
        ['out', '2026-06-01T12:00:00Z'],
      ] as const) {
        statuses.push((await post({ employeeId: 'L3', type, occurredAt: at })).status);
      }
      assert.deepEqual(statuses, long ? [201, 409, 201] : [201, 201, 201]);
      // Stored as-is (the 2 h rules would refuse the out), so the report alone applies the setting.
      await storeCheckins(t.tdb.db, [
        { employeeId: 'L5', siteId: 'S1', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
        { employeeId: 'L5', siteId: 'S1', type: 'out', occurredAt: '2026-06-01T11:00:00Z' },
      ]);
      const res = await api(t.hub, 'GET', '/api/v1/reports/daily?siteId=S1&date=2026-06-01');
      const row = (id: string) => {
        const r = res.body.data.find((r: { employeeId: string }) => r.employeeId === id);
        return [r.sessions, r.workedMinutes, r.lastOut, r.flags];
      };
      assert.deepEqual(row('L3'), long ? [1, 240, '2026-06-01T12:00:00.000Z', []] : [2, 60, '2026-06-01T12:00:00.000Z', ['missing_checkout']]);
      assert.deepEqual(row('L5'), long ? [1, 180, '2026-06-01T11:00:00.000Z', []] : [1, 0, null, ['missing_checkout', 'unmatched_checkout']]);
    });
  });
}
