import assert from 'node:assert/strict';
import { api, useTestHub } from './support/hub.js';

describe('sites over REST', () => {
  const t = useTestHub();

  const post = (body: unknown, headers?: Record<string, string>) => api(t.hub, 'POST', '/api/v1/sites', body, headers);
  const rows = () => t.tdb.db('sites').orderBy('id');

  it('creates a site (201), defaulting the time zone to UTC, and reads it back', async () => {
    const res = await post({ id: 'berlin', name: 'Berlin HQ', timeZone: 'Europe/Berlin' });
    assert.equal(res.status, 201, res.text);
    const d = res.body.data;
    assert.deepEqual({ ...d, createdAt: undefined, updatedAt: undefined }, {
      id: 'berlin',
      name: 'Berlin HQ',
      timeZone: 'Europe/Berlin',
      active: true,
      geofence: null,
      createdAt: undefined,
      updatedAt: undefined,
    });
    assert.ok(!Number.isNaN(Date.parse(d.createdAt)) && d.createdAt === d.updatedAt);
    const plain = await post({ id: 'depot', name: 'Depot' });
    assert.equal(plain.status, 201);
    assert.equal(plain.body.data.timeZone, 'UTC');
    const read = await api(t.hub, 'GET', '/api/v1/sites/berlin');
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.data, d);
  });

  it('an unknown id is a 404 site_not_found on read, update and deactivate', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/sites/nowhere', undefined],
      ['PATCH', '/api/v1/sites/nowhere', { name: 'X' }],
      ['POST', '/api/v1/sites/nowhere/deactivate', undefined],
    ] as const) {
      const res = await api(t.hub, method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'site_not_found');
    }
    assert.equal((await rows()).filter((r) => r.id === 'nowhere').length, 0);
  });

  it('a duplicate id is a 409 site_exists and leaves the first untouched', async () => {
    await post({ id: 'dup', name: 'First' });
    const res = await post({ id: 'dup', name: 'Second' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'site_exists');
    assert.equal((await t.tdb.db('sites').where({ id: 'dup' }).first()).name, 'First');
  });

  it('two concurrent creates with one id: exactly one 201 and one 409', async () => {
    const results = await Promise.all([post({ id: 'race', name: 'A' }), post({ id: 'race', name: 'B' })]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    assert.equal((await t.tdb.db('sites').where({ id: 'race' })).length, 1);
  });

  it('PATCH changes only the given fields and bumps updatedAt', async () => {
    const before = (await api(t.hub, 'GET', '/api/v1/sites/depot')).body.data;
    const res = await api(t.hub, 'PATCH', '/api/v1/sites/depot', { timeZone: 'America/New_York' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.timeZone, 'America/New_York');
    assert.equal(res.body.data.name, before.name);
    assert.ok(Date.parse(res.body.data.updatedAt) > Date.parse(before.updatedAt));
    const renamed = await api(t.hub, 'PATCH', '/api/v1/sites/depot', { name: 'North Depot' });
    assert.equal(renamed.body.data.name, 'North Depot');
    assert.equal(renamed.body.data.timeZone, 'America/New_York');
  });

  it('deactivate sets active=false and may be repeated', async () => {
    await post({ id: 'closing', name: 'Closing' });
    for (let i = 0; i < 2; i++) {
      const res = await api(t.hub, 'POST', '/api/v1/sites/closing/deactivate');
      assert.equal(res.status, 200);
      assert.equal(res.body.data.active, false);
    }
    assert.equal((await t.tdb.db('sites').where({ id: 'closing' }).first()).active, false);
  });

  describe('listing', () => {
    it('limit=1 walks every site exactly once in id order, the last page with next=null', async () => {
      const all = (await rows()).map((r) => r.id);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const query: string = after === null ? 'limit=1' : `limit=1&after=${encodeURIComponent(after)}`;
        const res = await api(t.hub, 'GET', `/api/v1/sites?${query}`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.data.length, 1);
        seen.push(res.body.data[0].id);
        after = res.body.next;
        if (after !== null) assert.equal(after, res.body.data[0].id);
        pages++;
      } while (after !== null && pages <= all.length);
      assert.deepEqual(seen, all);
    });

    it('a page that holds exactly the rest has next=null; after the last id the page is empty', async () => {
      const ids = (await rows()).map((r) => r.id);
      const rest = await api(t.hub, 'GET', `/api/v1/sites?after=${ids[0]}&limit=${ids.length - 1}`);
      assert.deepEqual(rest.body.data.map((s: any) => s.id), ids.slice(1));
      assert.equal(rest.body.next, null);
      const one = await api(t.hub, 'GET', `/api/v1/sites?after=${ids[0]}&limit=${ids.length - 2}`);
      assert.equal(one.body.next, ids[ids.length - 2]);
      const empty = await api(t.hub, 'GET', `/api/v1/sites?after=${ids[ids.length - 1]}`);
      assert.deepEqual(empty.body, { data: [], next: null });
    });

    it('filters by active', async () => {
      const inactive = await api(t.hub, 'GET', '/api/v1/sites?active=false');
      assert.deepEqual(inactive.body.data.map((s: any) => s.id), ['closing']);
      const active = await api(t.hub, 'GET', '/api/v1/sites?active=true');
      assert.ok(active.body.data.length > 0 && active.body.data.every((s: any) => s.active));
    });

    it('rejects bad paging and unknown query keys', async () => {
      for (const q of ['limit=0', 'limit=501', 'limit=abc', 'active=maybe', 'siteId=berlin', 'bogus=1', 'after=']) {
        const res = await api(t.hub, 'GET', `/api/v1/sites?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.body.error.code, 'validation_failed');
      }
    });
  });

  describe('bad input: 4xx with a stable code, nothing written', () => {
    const cases: Array<[string, string, string, unknown, number, string]> = [
      ['malformed JSON', 'POST', '/api/v1/sites', '{"id":', 400, 'invalid_json'],
      ['a bad time zone', 'POST', '/api/v1/sites', { id: 'tz', name: 'TZ', timeZone: 'Mars/Olympus' }, 400, 'validation_failed'],
      ['an offset as time zone', 'POST', '/api/v1/sites', { id: 'tz', name: 'TZ', timeZone: '+01:00' }, 400, 'validation_failed'],
      ['an extra field', 'POST', '/api/v1/sites', { id: 'x', name: 'X', active: false }, 400, 'validation_failed'],
      ['a missing name', 'POST', '/api/v1/sites', { id: 'x' }, 400, 'validation_failed'],
      ['a blank id', 'POST', '/api/v1/sites', { id: ' ', name: 'X' }, 400, 'validation_failed'],
      ['a form body', 'POST', '/api/v1/sites', 'id=x', 415, 'unsupported_media_type'],
      ['a bad time zone in PATCH', 'PATCH', '/api/v1/sites/berlin', { timeZone: 'Berlin' }, 400, 'validation_failed'],
      ['an extra field in PATCH', 'PATCH', '/api/v1/sites/berlin', { name: 'B', owner: 'x' }, 400, 'validation_failed'],
      ['an empty PATCH', 'PATCH', '/api/v1/sites/berlin', {}, 400, 'validation_failed'],
      ['malformed JSON in PATCH', 'PATCH', '/api/v1/sites/berlin', '{', 400, 'invalid_json'],
    ];
    for (const [label, method, path, body, status, code] of cases) {
      it(label, async () => {
        const before = await rows();
        const headers = body === 'id=x' ? { 'content-type': 'application/x-www-form-urlencoded' } : undefined;
        const res = await api(t.hub, method, path, body, headers);
        assert.equal(res.status, status, res.text);
        assert.equal(res.body.error.code, code);
        assert.deepEqual(await rows(), before);
      });
    }

    it('validation details name the wrong field', async () => {
      const res = await post({ id: 'tz', name: 'TZ', timeZone: 'Nowhere' });
      assert.deepEqual(res.body.error.details.map((d: any) => d.field), ['timeZone']);
    });
  });
});
