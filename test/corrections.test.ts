import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from '../server/db/knex.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';
import { recordDashboard, until } from './support/live.js';
import { withToken } from './support/signin.js';

/**
 * Managers' corrections over HTTP: a punch added with a reason, a void that keeps the original marked.
 * The corrected timeline is judged by the same rules (a void that would orphan a later punch is
 * refused), and reports, presence, the live events and the audit log all reflect the correction.
 */
describe('manager corrections: punches added with a reason, voids that keep the original', () => {
  const t = useTestHub({ seed });
  let manager: string;
  let otherManager: string;

  async function seed(db: Knex) {
    await makeSite(db, { id: 'S' });
    await makeSite(db, { id: 'S2' });
    for (const id of ['F', 'D', 'P', 'V']) await makeEmployee(db, { id, siteId: 'S' });
    await makeEmployee(db, { id: 'Q', siteId: 'S2' });
    await storeCheckins(db, [
      // F forgot to check out on Monday.
      { employeeId: 'F', siteId: 'S', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
      // D's badge was read twice: the toggle made the second read a check-out.
      { employeeId: 'D', siteId: 'S', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
      { employeeId: 'D', siteId: 'S', type: 'out', occurredAt: '2026-06-01T08:00:30Z' },
      // V worked a whole session.
      { employeeId: 'V', siteId: 'S', type: 'in', occurredAt: '2026-06-01T08:00:00Z' },
      { employeeId: 'V', siteId: 'S', type: 'out', occurredAt: '2026-06-01T16:00:00Z' },
    ]);
  }

  before(async () => {
    manager = await t.hub.token('manager', ['S']);
    otherManager = await t.hub.token('manager', ['S2']);
  });

  const asManager = (method: string, path: string, body?: unknown) => api(t.hub, method, path, body, withToken(manager));
  const punchesOf = async (employeeId: string) =>
    (await api(t.hub, 'GET', `/api/v1/checkins?employeeId=${employeeId}`)).body.data as Array<{ eventId: string; type: string; occurredAt: string; voided?: { by: string; reason: string } }>;
  const worked = async (employeeId: string, date: string) => {
    const res = await api(t.hub, 'GET', `/api/v1/reports/daily?siteId=S&date=${date}`);
    assert.equal(res.status, 200, res.text);
    return res.body.data.find((row: { employeeId: string }) => row.employeeId === employeeId)?.workedMinutes;
  };
  const audit = async (action: string, entityId: string) => {
    const res = await api(t.hub, 'GET', '/api/v1/audit?limit=500');
    return res.body.data.filter((e: { action: string; entityId: string }) => e.action === action && e.entityId === entityId);
  };

  it('a forgotten check-out added by a manager, with why: stored, judged, in the report and the audit log; a retry answers it again', async () => {
    const eventId = randomUUID();
    const body = { employeeId: 'F', type: 'out', occurredAt: '2026-06-01T17:00:00Z', reason: 'forgot to check out', eventId };
    const res = await asManager('POST', '/api/v1/checkins/corrections', body);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(
      { type: res.body.data.type, siteId: res.body.data.siteId, reason: res.body.data.reason, deviceId: res.body.data.deviceId },
      { type: 'out', siteId: 'S', reason: 'forgot to check out', deviceId: null },
    );
    // 08:00–17:00.
    assert.equal(await worked('F', '2026-06-01'), 540);
    const [entry] = await audit('correct', eventId);
    assert.equal(entry.actorRole, 'manager');
    assert.deepEqual(entry.changes, { employeeId: 'F', type: 'out', occurredAt: '2026-06-01T17:00:00.000Z', reason: 'forgot to check out' });

    const again = await asManager('POST', '/api/v1/checkins/corrections', body);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.data.seq, res.body.data.seq);
  });

  it('a correction is held to the rules: a second check-out is refused and nothing is stored', async () => {
    const before = await punchesOf('V');
    const res = await asManager('POST', '/api/v1/checkins/corrections', { employeeId: 'V', type: 'out', occurredAt: '2026-06-01T17:00:00Z', reason: 'left late' });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.error.code, 'not_checked_in');
    assert.deepEqual(await punchesOf('V'), before);
  });

  it('a voided duplicate: the original stays, marked with who and why, and the timeline is judged without it', async () => {
    const [, accidental] = await punchesOf('D');
    // Before the void, D is out: a check-out at 16:00 does not fit.
    const early = await asManager('POST', '/api/v1/checkins/corrections', { employeeId: 'D', type: 'out', occurredAt: '2026-06-01T16:00:00Z', reason: 'end of day' });
    assert.equal(early.status, 409, early.text);
    assert.equal(early.body.error.code, 'not_checked_in');

    const res = await asManager('POST', `/api/v1/checkins/${accidental!.eventId}/void`, { reason: 'badge read twice' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.eventId, accidental!.eventId);
    assert.equal(res.body.data.voided.reason, 'badge read twice');
    assert.ok(res.body.data.voided.by, 'who voided it');
    assert.equal((await audit('void', accidental!.eventId)).length, 1);

    // Without the accidental check-out D is still in, so the day's check-out fits now.
    const out = await asManager('POST', '/api/v1/checkins/corrections', { employeeId: 'D', type: 'out', occurredAt: '2026-06-01T16:00:00Z', reason: 'end of day' });
    assert.equal(out.status, 201, out.text);
    assert.equal(await worked('D', '2026-06-01'), 480);
    const listed = await punchesOf('D');
    assert.deepEqual(
      listed.map((c) => [c.type, c.occurredAt, c.voided?.reason ?? null]),
      [
        ['in', '2026-06-01T08:00:00.000Z', null],
        ['out', '2026-06-01T08:00:30.000Z', 'badge read twice'],
        ['out', '2026-06-01T16:00:00.000Z', null],
      ],
    );

    const twice = await asManager('POST', `/api/v1/checkins/${accidental!.eventId}/void`, { reason: 'again' });
    assert.equal(twice.status, 409, twice.text);
    assert.equal(twice.body.error.code, 'already_voided');
  });

  it('a void that would leave a later punch without its pair is refused, and nothing is marked', async () => {
    const [opening] = await punchesOf('V');
    const res = await asManager('POST', `/api/v1/checkins/${opening!.eventId}/void`, { reason: 'wrong person' });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.error.code, 'out_of_sequence');
    assert.equal((await punchesOf('V'))[0]!.voided, undefined);
    assert.equal(await worked('V', '2026-06-01'), 480);
  });

  it('dashboards get checkin.voided and the presence it restores; a replay from before carries the same events', async () => {
    const dashboard = recordDashboard(t.hub, { sites: ['S'] });
    try {
      await until(() => dashboard.acks.length === 1, 10_000, 'subscribed');
      const from = dashboard.acks[0]!.seq;
      const now = Date.now();
      const inRes = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'P', type: 'in', siteId: 'S', occurredAt: new Date(now - 60_000).toISOString() });
      const outRes = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'P', type: 'out', occurredAt: new Date(now - 30_000).toISOString() });
      assert.equal(outRes.status, 201, outRes.text);
      const voided = await asManager('POST', `/api/v1/checkins/${outRes.body.data.eventId}/void`, { reason: 'pressed out by mistake' });
      assert.equal(voided.status, 200, voided.text);

      const voidEvent = () => dashboard.events.find((e) => e.name === 'checkin.voided');
      await until(() => voidEvent() !== undefined && dashboard.events.at(-1)!.name === 'presence.changed' && dashboard.events.at(-1)!.seq > voidEvent()!.seq, 10_000, 'the void and its presence change');
      assert.deepEqual(voidEvent()!.payload, {
        checkinSeq: outRes.body.data.seq,
        eventId: outRes.body.data.eventId,
        employeeId: 'P',
        siteId: 'S',
        type: 'out',
        occurredAt: outRes.body.data.occurredAt,
        by: voided.body.data.voided.by,
        reason: 'pressed out by mistake',
      });
      assert.equal(voidEvent()!.seq, voided.body.data.voided.seq);
      assert.deepEqual(dashboard.events.at(-1)!.payload, { siteId: 'S', employeeId: 'P', present: true, since: inRes.body.data.occurredAt });
      const presence = await api(t.hub, 'GET', '/api/v1/presence?siteId=S');
      assert.deepEqual(presence.body.data.map((e: { employeeId: string; since: string }) => [e.employeeId, e.since]), [['P', inRes.body.data.occurredAt]]);

      const replay = recordDashboard(t.hub, { sites: ['S'], since: from });
      try {
        await until(() => replay.events.length >= dashboard.events.length, 10_000, 'the replay');
        assert.deepEqual(replay.events.slice(0, dashboard.events.length), dashboard.events);
      } finally {
        replay.client.close();
      }
    } finally {
      dashboard.client.close();
    }
  });

  it('only admins and the site’s managers correct; bad requests get 4xx with a stable code', async () => {
    const [vIn] = await punchesOf('V');
    const kiosk = await t.hub.token('kiosk', ['S']);
    const dashboard = await t.hub.token('dashboard', ['S']);
    const correction = { employeeId: 'V', type: 'in', occurredAt: '2026-06-02T08:00:00Z', reason: 'badge at home' };
    const cases: Array<[string, string, string, unknown, number, string?]> = [
      ['kiosk correction', kiosk, '/api/v1/checkins/corrections', correction, 403],
      ['dashboard void', dashboard, `/api/v1/checkins/${vIn!.eventId}/void`, { reason: 'x' }, 403],
      ['another site’s manager: correction', otherManager, '/api/v1/checkins/corrections', correction, 403],
      ['another site’s manager: void', otherManager, `/api/v1/checkins/${vIn!.eventId}/void`, { reason: 'x' }, 403],
      ['no reason', manager, `/api/v1/checkins/${vIn!.eventId}/void`, {}, 400, 'validation_failed'],
      ['a blank reason', manager, '/api/v1/checkins/corrections', { ...correction, reason: '  ' }, 400, 'validation_failed'],
      ['not a uuid', manager, '/api/v1/checkins/nope/void', { reason: 'x' }, 400, 'validation_failed'],
      ['unknown check-in', manager, `/api/v1/checkins/${randomUUID()}/void`, { reason: 'x' }, 404, 'checkin_not_found'],
      ['unknown employee', manager, '/api/v1/checkins/corrections', { ...correction, employeeId: 'nobody' }, 404, 'unknown_employee'],
      ['in the future', manager, '/api/v1/checkins/corrections', { ...correction, occurredAt: '2099-01-01T00:00:00Z' }, 400, 'occurred_in_future'],
    ];
    const before = await t.tdb.db('checkins').count<{ count: string }[]>('* as count').whereNotNull('voided_seq').orWhereNotNull('reason');
    for (const [what, token, path, body, status, code] of cases) {
      const res = await api(t.hub, 'POST', path, body, withToken(token));
      assert.equal(res.status, status, `${what}: ${res.text}`);
      if (code) assert.equal(res.body.error.code, code, what);
    }
    const after = await t.tdb.db('checkins').count<{ count: string }[]>('* as count').whereNotNull('voided_seq').orWhereNotNull('reason');
    assert.deepEqual(after, before, 'nothing written');
  });
});
