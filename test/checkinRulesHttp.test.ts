import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { hashSecret as hashPin } from '../server/crypto.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

const at = (iso: string) => new Date(iso).toISOString();

describe('check-in rules, idempotency, offline batches and presence', () => {
  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1', timeZone: 'Europe/Berlin' });
      await makeSite(db, { id: 'S2' });
      await makeSite(db, { id: 'S3' });
      await makeEmployee(db, { id: 'C1', siteId: 'S3' });
      await makeEmployee(db, { id: 'C2', siteId: 'S1' });
      for (const id of ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'B1', 'B2', 'B3', 'B4', 'B5', 'P1', 'P2', 'P3']) await makeEmployee(db, { id, siteId: 'S1' });
      await makeEmployee(db, { id: 'OFF', siteId: 'S1', active: false });
      await makeEmployee(db, { id: 'K1', siteId: 'S1', badge: 'BADGE-1' });
      await db('employees').insert({ id: 'K2', name: 'Pinned', site_id: 'S1', badge: 'BADGE-2', pin_hash: await hashPin('4711') });
    },
  });

  const post = (body: unknown, headers?: Record<string, string>) => api(t.hub, 'POST', '/api/v1/checkins', body, headers);
  const rows = (employeeId: string) => t.tdb.db('checkins').where({ employee_id: employeeId }).orderBy('occurred_at');

  describe('one open check-in per employee', () => {
    it('in while in is 409 already_checked_in; out while out is 409 not_checked_in', async () => {
      assert.equal((await post({ employeeId: 'R1', type: 'out' })).body.error.code, 'not_checked_in');
      assert.equal((await post({ employeeId: 'R1', type: 'in' })).status, 201);
      const again = await post({ employeeId: 'R1', type: 'in' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'already_checked_in');
      assert.equal((await post({ employeeId: 'R1', type: 'out' })).status, 201);
      const out = await post({ employeeId: 'R1', type: 'out' });
      assert.equal(out.status, 409);
      assert.equal(out.body.error.code, 'not_checked_in');
      assert.equal((await rows('R1')).length, 2);
    });

    it('occurredAt more than 5 minutes ahead is rejected; a little clock skew is fine', async () => {
      const ahead = await post({ employeeId: 'R4', type: 'in', occurredAt: new Date(Date.now() + 6 * 60_000).toISOString() });
      assert.equal(ahead.status, 400);
      assert.equal(ahead.body.error.code, 'occurred_in_future');
      const skew = await post({ employeeId: 'R4', type: 'in', occurredAt: new Date(Date.now() + 60_000).toISOString() });
      assert.equal(skew.status, 201);
    });

    it('inactive employees cannot check in', async () => {
      const res = await post({ employeeId: 'OFF', type: 'in' });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, 'employee_inactive');
      assert.equal((await rows('OFF')).length, 0);
    });
  });

  describe('idempotency', () => {
    it('concurrent posts of one eventId leave exactly one row; all get the same check-in', async () => {
      const eventId = randomUUID();
      const results = await Promise.all(Array.from({ length: 10 }, () => post({ employeeId: 'R5', type: 'in', eventId })));
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      assert.ok(results.every((r) => r.body.data.seq === results[0]!.body.data.seq));
      assert.equal((await rows('R5')).length, 1);
    });

    it('an Idempotency-Key header makes retries safe too, also when they race', async () => {
      const key = `kiosk-7:${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 5 }, () => post({ employeeId: 'R6', type: 'toggle' }, { 'Idempotency-Key': key })));
      assert.equal(results.filter((r) => r.status === 201).length, 1);
      assert.equal(new Set(results.map((r) => r.body.data.eventId)).size, 1);
      assert.equal((await rows('R6')).length, 1);
      const mismatch = await post({ employeeId: 'R6', type: 'toggle', eventId: randomUUID() }, { 'Idempotency-Key': key });
      assert.equal(mismatch.body.error.code, 'idempotency_key_mismatch');
    });

    it('a punch identical to a stored one (employee, type, occurredAt) is a duplicate', async () => {
      const when = at('2026-11-10T07:00:00Z');
      const first = await post({ employeeId: 'P1', type: 'in', occurredAt: when });
      const twin = await post({ employeeId: 'P1', type: 'in', occurredAt: when });
      assert.equal(first.status, 201);
      assert.equal(twin.status, 200);
      assert.equal(twin.body.data.seq, first.body.data.seq);
      assert.equal((await rows('P1')).length, 1);
    });

  });

  describe('a deactivated site', () => {
    it('takes no check-ins, named or by home site, but lets sessions opened there close; reactivated, it takes them again', async () => {
      assert.equal((await post({ employeeId: 'C1', type: 'in' })).status, 201);
      assert.equal((await api(t.hub, 'POST', '/api/v1/sites/S3/deactivate')).status, 200);
      const named = await post({ employeeId: 'C2', type: 'in', siteId: 'S3' });
      assert.equal(named.status, 409);
      assert.equal(named.body.error.code, 'site_inactive');
      const out = await post({ employeeId: 'C1', type: 'out' });
      assert.equal(out.status, 201);
      assert.equal(out.body.data.siteId, 'S3');
      const home = await post({ employeeId: 'C1', type: 'toggle' });
      assert.equal(home.status, 409);
      assert.equal(home.body.error.code, 'site_inactive');
      // Elsewhere is fine.
      assert.equal((await post({ employeeId: 'C1', type: 'in', siteId: 'S1' })).status, 201);
      assert.equal((await post({ employeeId: 'C1', type: 'out' })).status, 201);
      const reopened = await api(t.hub, 'PATCH', '/api/v1/sites/S3', { active: true });
      assert.equal(reopened.status, 200);
      assert.equal(reopened.body.data.active, true);
      const back = await post({ employeeId: 'C1', type: 'in' });
      assert.equal(back.status, 201);
      assert.equal(back.body.data.siteId, 'S3');
      assert.deepEqual((await rows('C1')).map((r) => `${r.type}@${r.site_id}`), ['in@S3', 'out@S3', 'in@S1', 'out@S1', 'in@S3']);
      assert.equal((await rows('C2')).length, 0);
    });
  });

  describe('kiosk identification by badge', () => {
    it('a badge without a PIN checks in its employee', async () => {
      const res = await post({ badge: 'BADGE-1', type: 'toggle' });
      assert.equal(res.status, 201);
      assert.equal(res.body.data.employeeId, 'K1');
    });

    it('a badge with a PIN needs the right PIN', async () => {
      assert.equal((await post({ badge: 'BADGE-2', type: 'toggle' })).body.error.code, 'invalid_pin');
      const wrong = await post({ badge: 'BADGE-2', pin: '0000', type: 'toggle' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'invalid_pin');
      assert.equal((await rows('K2')).length, 0);
      const ok = await post({ badge: 'BADGE-2', pin: '4711', type: 'toggle' });
      assert.equal(ok.status, 201);
      assert.equal(ok.body.data.employeeId, 'K2');
    });

    it('an unknown badge is a 404; employeeId and badge together are a 400', async () => {
      assert.equal((await post({ badge: 'NOPE', type: 'in' })).body.error.code, 'unknown_badge');
      const both = await post({ badge: 'BADGE-1', employeeId: 'K1', type: 'in' });
      assert.equal(both.status, 400);
      assert.equal(both.body.error.code, 'validation_failed');
    });
  });

  describe('offline batch sync', () => {
    it('judges in occurredAt order, stores valid items, reports each, and nothing is half-stored', async () => {
      const synced = randomUUID();
      await post({ employeeId: 'B2', type: 'in', eventId: synced, occurredAt: at('2026-11-03T06:00:00Z') });
      const ids = Array.from({ length: 8 }, () => randomUUID());
      const punches = [
        // Out of order: the out arrives before its in.
        { eventId: ids[0], employeeId: 'B1', type: 'out', occurredAt: at('2026-11-03T16:00:00Z'), deviceId: 'kiosk-2' },
        { eventId: ids[1], employeeId: 'B1', type: 'in', occurredAt: at('2026-11-03T08:00:00Z'), deviceId: 'kiosk-2' },
        // Invalid: unknown employee, a field error, and an out while out.
        { eventId: ids[2], employeeId: 'ghost', type: 'in', occurredAt: at('2026-11-03T08:00:00Z') },
        { eventId: ids[3], employeeId: 'B1', type: 'sideways', occurredAt: at('2026-11-03T09:00:00Z') },
        { eventId: ids[4], employeeId: 'B1', type: 'out', occurredAt: at('2026-11-03T17:00:00Z') },
        // Already synced (same eventId) and a repeat inside the batch.
        { eventId: synced, employeeId: 'B2', type: 'in', occurredAt: at('2026-11-03T06:00:00Z') },
        { eventId: ids[5], employeeId: 'B2', type: 'out', occurredAt: at('2026-11-03T14:00:00Z') },
        { eventId: ids[5], employeeId: 'B2', type: 'out', occurredAt: at('2026-11-03T14:00:00Z') },
        'not even an object',
      ];
      const res = await api(t.hub, 'POST', '/api/v1/checkins/batch', { punches });
      assert.equal(res.status, 200);
      const statuses = res.body.data.map((r: any) => r.status);
      assert.deepEqual(statuses, ['created', 'created', 'rejected', 'rejected', 'rejected', 'duplicate', 'created', 'duplicate', 'rejected']);
      const codes = res.body.data.map((r: any) => r.error?.code ?? null);
      assert.deepEqual(codes, [null, null, 'unknown_employee', 'validation_failed', 'not_checked_in', null, null, null, 'validation_failed']);
      assert.deepEqual(res.body.data.map((r: any) => r.eventId), [...ids.slice(0, 5), synced, ids[5], ids[5], null]);
      const b1 = await rows('B1');
      assert.deepEqual(b1.map((r) => r.type), ['in', 'out']);
      assert.equal((await rows('B2')).length, 2);
      // One transaction: the batch's events (3 check-ins, then a presence change for B1 and B2) have consecutive seqs.
      const created = res.body.data.filter((r: any) => r.status === 'created').map((r: any) => r.data.seq).sort((a: number, b: number) => a - b);
      const kinds = await t.tdb.db('events').where('seq', '>=', created[0]).orderBy('seq').select('seq', 'kind');
      assert.deepEqual(kinds.map((e) => e.seq), [0, 1, 2, 3, 4].map((i) => created[0] + i));
      assert.deepEqual(kinds.map((e) => e.kind), ['checkin.recorded', 'checkin.recorded', 'checkin.recorded', 'presence.changed', 'presence.changed']);
    });

    it('an item PostgreSQL cannot store (NUL in text, year 0) is rejected alone; the rest are stored', async () => {
      const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const punches = [
        { eventId: ids[0], employeeId: 'B3\u0000', type: 'in' },
        { eventId: ids[1], employeeId: 'B3', type: 'in', deviceId: 'kiosk\u0000' },
        { eventId: ids[2], employeeId: 'B3', type: 'in', occurredAt: '0000-06-01T00:00:00Z' },
        { eventId: ids[3], employeeId: 'B3', type: 'in' },
      ];
      const res = await api(t.hub, 'POST', '/api/v1/checkins/batch', { punches });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.data.map((r: any) => r.error?.code ?? r.status), ['validation_failed', 'validation_failed', 'validation_failed', 'created']);
      assert.equal((await rows('B3')).length, 1);
    });

    it('rejects an empty batch and one over 1,000 punches as a whole', async () => {
      assert.equal((await api(t.hub, 'POST', '/api/v1/checkins/batch', { punches: [] })).status, 400);
      const big = Array.from({ length: 1001 }, () => ({ employeeId: 'B1', type: 'toggle' }));
      const res = await api(t.hub, 'POST', '/api/v1/checkins/batch', { punches: big });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_failed');
    });
  });

  describe('presence', () => {
    it('shows who is in at a site now, and a read right after a punch sees it', async () => {
      await makeEmployee(t.tdb.db, { id: 'W1', siteId: 'S2' });
      await makeEmployee(t.tdb.db, { id: 'W2', siteId: 'S2' });
      const empty = await api(t.hub, 'GET', '/api/v1/presence?siteId=S2');
      assert.deepEqual([empty.body.data, empty.body.expected.entries], [[], []]);
      const w1 = await post({ employeeId: 'W1', type: 'in' });
      let present = (await api(t.hub, 'GET', '/api/v1/presence?siteId=S2')).body.data;
      assert.deepEqual(present.map((p: any) => [p.employeeId, p.since]), [['W1', w1.body.data.occurredAt]]);
      await post({ employeeId: 'W2', type: 'in' });
      await post({ employeeId: 'W1', type: 'out' });
      present = (await api(t.hub, 'GET', '/api/v1/presence?siteId=S2')).body.data;
      assert.deepEqual(present.map((p: any) => p.employeeId), ['W2']);
    });

    it('needs a known siteId', async () => {
      assert.equal((await api(t.hub, 'GET', '/api/v1/presence')).body.error.code, 'validation_failed');
      assert.equal((await api(t.hub, 'GET', '/api/v1/presence?siteId=nope')).body.error.code, 'site_not_found');
    });
  });
});
