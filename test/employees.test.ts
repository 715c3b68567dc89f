import assert from 'node:assert/strict';
import { findEmployeeByBadge } from '../server/repositories/employees.js';
import { verifySecret as verifyPin } from '../server/crypto.js';
import { makeSite } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';

describe('employees over REST', () => {
  // Every response body this file sees, to prove no PIN or hash ever leaves the hub.
  const seen: string[] = [];

  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeSite(db, { id: 'S2' });
      await makeSite(db, { id: 'closed' });
      await db('sites').where({ id: 'closed' }).update({ active: false });
    },
  });

  const call = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const res = await api(t.hub, method, path, body, headers);
    seen.push(res.text);
    return res;
  };
  const post = (body: unknown) => call('POST', '/api/v1/employees', body);
  const patch = (id: string, body: unknown) => call('PATCH', `/api/v1/employees/${id}`, body);
  const rows = () => t.tdb.db('employees').orderBy('id');
  const row = (id: string) => t.tdb.db('employees').where({ id }).first();

  it('creates an employee (201) with a PIN it stores only as a salted scrypt hash', async () => {
    const res = await post({ id: 'E1', name: 'Ann', siteId: 'S1', badge: 'B-1', pin: '1234' });
    assert.equal(res.status, 201, res.text);
    const d = res.body.data;
    assert.deepEqual(Object.keys(d).sort(), ['active', 'badge', 'createdAt', 'hasPin', 'id', 'name', 'siteId', 'updatedAt']);
    assert.deepEqual([d.id, d.name, d.siteId, d.badge, d.hasPin, d.active], ['E1', 'Ann', 'S1', 'B-1', true, true]);
    const stored = (await row('E1')).pin_hash;
    assert.notEqual(stored, '1234');
    assert.match(stored, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(await verifyPin('1234', stored), true);
    assert.equal(await verifyPin('4321', stored), false);
    for (const bad of ['1234', '', 'scrypt$3$8$1$AAAA$AAAA', 'bcrypt$16384$8$1$AAAA$AAAA']) assert.equal(await verifyPin('1234', bad), false, bad);
  });

  it('two employees with one PIN get different salts', async () => {
    await post({ id: 'E2', name: 'Bob', pin: '1234' });
    assert.notEqual((await row('E2')).pin_hash, (await row('E1')).pin_hash);
  });

  it('without a PIN hasPin is false; siteId and badge default to null', async () => {
    const res = await post({ id: 'E3', name: 'Cy' });
    assert.equal(res.status, 201);
    assert.deepEqual([res.body.data.hasPin, res.body.data.siteId, res.body.data.badge], [false, null, null]);
  });

  it('reads an employee; an unknown id is a 404 employee_not_found everywhere', async () => {
    const read = await call('GET', '/api/v1/employees/E1');
    assert.equal(read.status, 200);
    assert.equal(read.body.data.hasPin, true);
    for (const [method, path, body] of [
      ['GET', '/api/v1/employees/ghost', undefined],
      ['PATCH', '/api/v1/employees/ghost', { name: 'G' }],
      ['POST', '/api/v1/employees/ghost/deactivate', undefined],
    ] as const) {
      const res = await call(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'employee_not_found');
    }
    assert.equal(await row('ghost'), undefined);
  });

  it('an unknown site is a 404 unknown_site, an inactive one a 409 site_inactive; nothing is written', async () => {
    const before = await rows();
    const unknown = await post({ id: 'E9', name: 'Nine', siteId: 'nowhere' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_site');
    const closed = await post({ id: 'E9', name: 'Nine', siteId: 'closed' });
    assert.equal(closed.status, 409);
    assert.equal(closed.body.error.code, 'site_inactive');
    const moved = await patch('E1', { siteId: 'closed' });
    assert.equal(moved.status, 409);
    assert.equal(moved.body.error.code, 'site_inactive');
    const lost = await patch('E1', { siteId: 'nowhere', name: 'Renamed' });
    assert.equal(lost.status, 404);
    assert.equal(lost.body.error.code, 'unknown_site');
    assert.deepEqual(await rows(), before);
  });

  it('a duplicate id is a 409 employee_exists', async () => {
    const before = await rows();
    const res = await post({ id: 'E1', name: 'Other', badge: 'B-new' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'employee_exists');
    assert.deepEqual(await rows(), before);
  });

  it('a taken badge is a 409 badge_taken on create and on update', async () => {
    const before = await rows();
    const created = await post({ id: 'E4', name: 'Dee', badge: 'B-1' });
    assert.equal(created.status, 409);
    assert.equal(created.body.error.code, 'badge_taken');
    const updated = await patch('E3', { badge: 'B-1', name: 'Cyril' });
    assert.equal(updated.status, 409);
    assert.equal(updated.body.error.code, 'badge_taken');
    assert.deepEqual(await rows(), before);
  });

  it('two concurrent creates with one badge: exactly one 201 and one 409, one row', async () => {
    const results = await Promise.all([post({ id: 'R1', name: 'R1', badge: 'B-race' }), post({ id: 'R2', name: 'R2', badge: 'B-race' })]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    assert.equal(results.find((r) => r.status === 409)!.body.error.code, 'badge_taken');
    assert.equal((await t.tdb.db('employees').where({ badge: 'B-race' })).length, 1);
    assert.equal((await t.tdb.db('employees').whereIn('id', ['R1', 'R2'])).length, 1);
  });

  it('two concurrent creates with one id: exactly one 201 and one 409', async () => {
    const results = await Promise.all([post({ id: 'R3', name: 'A' }), post({ id: 'R3', name: 'B' })]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    assert.equal((await t.tdb.db('employees').where({ id: 'R3' })).length, 1);
  });

  describe('PATCH', () => {
    it('changes only the given fields', async () => {
      const res = await patch('E3', { name: 'Cyril', siteId: 'S2', badge: 'B-3' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual([res.body.data.name, res.body.data.siteId, res.body.data.badge, res.body.data.hasPin], ['Cyril', 'S2', 'B-3', false]);
    });

    it('null unassigns the site and frees the badge for someone else', async () => {
      const res = await patch('E3', { siteId: null, badge: null });
      assert.deepEqual([res.body.data.siteId, res.body.data.badge], [null, null]);
      assert.equal((await patch('E2', { badge: 'B-3' })).status, 200);
    });

    it('sets, changes and removes a PIN', async () => {
      const set = await patch('E3', { pin: '987654' });
      assert.equal(set.body.data.hasPin, true);
      assert.equal(await verifyPin('987654', (await row('E3')).pin_hash), true);
      const removed = await patch('E3', { pin: null });
      assert.equal(removed.body.data.hasPin, false);
      assert.equal((await row('E3')).pin_hash, null);
    });

    it('can reactivate', async () => {
      await call('POST', '/api/v1/employees/E3/deactivate');
      const res = await patch('E3', { active: true });
      assert.equal(res.body.data.active, true);
    });
  });

  it('deactivate sets active=false and may be repeated', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await call('POST', '/api/v1/employees/E2/deactivate');
      assert.equal(res.status, 200);
      assert.equal(res.body.data.active, false);
    }
    assert.equal((await row('E2')).active, false);
  });

  it('findEmployeeByBadge gives the kiosk the holder, its name, state and PIN hash', async () => {
    const holder = await findEmployeeByBadge(t.tdb.db, 'B-1');
    assert.deepEqual({ ...holder, pinHash: undefined }, { id: 'E1', name: 'Ann', siteId: 'S1', active: true, pinHash: undefined });
    assert.equal(await verifyPin('1234', holder!.pinHash!), true);
    assert.equal(await findEmployeeByBadge(t.tdb.db, 'no-such-badge'), undefined);
  });

  describe('listing', () => {
    it('limit=1 walks every employee exactly once in id order, the last page with next=null', async () => {
      const all = (await rows()).map((r) => r.id);
      const walked: string[] = [];
      let after: string | null = null;
      do {
        const query: string = after === null ? 'limit=1' : `limit=1&after=${encodeURIComponent(after)}`;
        const res = await call('GET', `/api/v1/employees?${query}`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.data.length, 1);
        walked.push(res.body.data[0].id);
        after = res.body.next;
      } while (after !== null && walked.length <= all.length);
      assert.deepEqual(walked, all);
    });

    it('filters by site and active, paging within the filter', async () => {
      await post({ id: 'S1-a', name: 'a', siteId: 'S1' });
      await post({ id: 'S1-b', name: 'b', siteId: 'S1' });
      const first = await call('GET', '/api/v1/employees?siteId=S1&limit=2');
      assert.deepEqual(first.body.data.map((e: any) => e.id), ['E1', 'S1-a']);
      assert.equal(first.body.next, 'S1-a');
      const second = await call('GET', `/api/v1/employees?siteId=S1&limit=2&after=${first.body.next}`);
      assert.deepEqual(second.body, { data: [second.body.data[0]], next: null });
      assert.equal(second.body.data[0].id, 'S1-b');
      const inactive = await call('GET', '/api/v1/employees?active=false');
      assert.deepEqual(inactive.body.data.map((e: any) => e.id), ['E2']);
      const none = await call('GET', '/api/v1/employees?siteId=nowhere');
      assert.deepEqual(none.body, { data: [], next: null });
    });

    it('rejects bad paging and unknown query keys', async () => {
      for (const q of ['limit=0', 'limit=501', 'limit=1.5', 'active=maybe', 'siteId=', 'bogus=1']) {
        const res = await call('GET', `/api/v1/employees?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.body.error.code, 'validation_failed');
      }
    });
  });

  describe('bad input: 400 with a stable code, nothing written', () => {
    const cases: Array<[string, string, string, unknown, string]> = [
      ['malformed JSON', 'POST', '/api/v1/employees', '{"id":', 'invalid_json'],
      ['an extra field', 'POST', '/api/v1/employees', { id: 'X', name: 'X', pinHash: 'x' }, 'validation_failed'],
      ['a short PIN', 'POST', '/api/v1/employees', { id: 'X', name: 'X', pin: '123' }, 'validation_failed'],
      ['a PIN with letters', 'POST', '/api/v1/employees', { id: 'X', name: 'X', pin: '12ab' }, 'validation_failed'],
      ['a numeric PIN', 'POST', '/api/v1/employees', { id: 'X', name: 'X', pin: 1234 }, 'validation_failed'],
      ['a control character in a name', 'POST', '/api/v1/employees', { id: 'X', name: 'X\u0000Y' }, 'validation_failed'],
      ['NUL ending an id', 'POST', '/api/v1/employees', { id: 'X\u0000', name: 'X' }, 'validation_failed'],
      ['NUL ending a badge', 'POST', '/api/v1/employees', { id: 'X', name: 'X', badge: 'B\u0000' }, 'validation_failed'],
      ['null siteId on create', 'POST', '/api/v1/employees', { id: 'X', name: 'X', siteId: null }, 'validation_failed'],
      ['malformed JSON in PATCH', 'PATCH', '/api/v1/employees/E1', '{', 'invalid_json'],
      ['an extra field in PATCH', 'PATCH', '/api/v1/employees/E1', { name: 'Ann', id: 'E7' }, 'validation_failed'],
      ['a bad PIN in PATCH', 'PATCH', '/api/v1/employees/E1', { pin: '12' }, 'validation_failed'],
      ['an empty PATCH', 'PATCH', '/api/v1/employees/E1', {}, 'validation_failed'],
    ];
    for (const [label, method, path, body, code] of cases) {
      it(label, async () => {
        const before = await rows();
        const res = await call(method, path, body);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.error.code, code);
        assert.deepEqual(await rows(), before);
      });
    }
  });

  // Mocha runs a block's own tests before its nested blocks: this block, last, sees every response.
  describe('afterwards', () => {
    it('no response ever carried a PIN or its hash', async () => {
      const hashes = (await rows()).flatMap((r) => (r.pin_hash ? [r.pin_hash] : []));
      assert.ok(seen.length > 30 && hashes.length > 0);
      for (const text of seen) {
        // A 400 may name the field "pin" in its details; no object may carry it as a key.
        assert.doesNotMatch(text, /"pin(Hash|_hash)?":|scrypt\$|"1234"|"987654"/);
        for (const h of hashes) assert.ok(!text.includes(h.split('$').pop()!));
      }
    });
  });
});
