import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { adminQuery } from './support/db.js';
import { api, useTestHub } from './support/hub.js';
import { until } from './support/live.js';

describe('check-ins over REST', () => {
  const t = useTestHub({
    seed: async (db) => {
      await db('sites').insert([
        { id: 'S1', name: 'Main', time_zone: 'Europe/Berlin' },
        { id: 'S2', name: 'Depot', time_zone: 'UTC' },
      ]);
      await db('employees').insert([
        { id: 'E1', name: 'Ann', site_id: 'S1' },
        { id: 'E2', name: 'Bob', site_id: 'S2' },
        ...Array.from({ length: 40 }, (_, i) => ({ id: `C${i}`, name: `Crowd ${i}`, site_id: 'S1' })),
      ]);
    },
  });

  const post = (body: unknown, headers?: Record<string, string>) => api(t.hub, 'POST', '/api/v1/checkins', body, headers);
  const count = async () => Number((await t.tdb.db('checkins').count({ n: '*' }))[0]!.n);

  it('records a check-in and answers 201 with the stored check-in', async () => {
    const eventId = randomUUID();
    const res = await post({ employeeId: 'E1', type: 'in', eventId, deviceId: 'kiosk-1', occurredAt: '2026-11-20T08:00:00+01:00' });
    assert.equal(res.status, 201);
    const d = res.body.data;
    assert.equal(d.eventId, eventId);
    assert.equal(d.employeeId, 'E1');
    assert.equal(d.siteId, 'S1', 'site defaults to the employee site');
    assert.equal(d.type, 'in');
    assert.equal(d.deviceId, 'kiosk-1');
    assert.equal(d.occurredAt, '2026-11-20T07:00:00.000Z');
    assert.ok(Number.isInteger(d.seq) && d.seq > 0);
    assert.ok(!Number.isNaN(Date.parse(d.recordedAt)));
    const row = await t.tdb.db('checkins').where({ event_id: eventId }).first();
    assert.equal(row.seq, d.seq);
    // Its event, read back as a replay reads it, is the check-in: the seq on the envelope, the rest as answered.
    const [event] = await t.hub.services.feed.after(d.seq - 1, 1);
    const { seq, ...payload } = d;
    assert.deepEqual(event, { seq, name: 'checkin.recorded', siteId: 'S1', employeeId: 'E1', payload });
  });

  it('stores text exactly as sent, whatever quotes it holds (the group statement inlines it as SQL text)', async () => {
    const devices = ["it's", 'back\\slash \\', '$j$ a dollar-quote tag $j$', '$$', '"quoted" \\"', 'Zoë ünï 漢字'];
    for (const [i, deviceId] of devices.entries()) {
      const res = await post({ employeeId: `C${i}`, type: 'in', deviceId });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.data.deviceId, deviceId);
      const row = await t.tdb.db('checkins').where({ seq: res.body.data.seq }).first();
      assert.equal(row.device_id, deviceId);
      const [event] = await t.hub.services.feed.after(res.body.data.seq - 1, 1);
      assert.equal(event!.name === 'checkin.recorded' && event!.payload.deviceId, deviceId);
    }
  });

  it('generates the eventId and occurredAt when absent', async () => {
    const before = Date.now();
    const res = await post({ employeeId: 'E2', type: 'in' });
    assert.equal(res.status, 201);
    assert.match(res.body.data.eventId, /^[0-9a-f-]{36}$/);
    assert.ok(Date.parse(res.body.data.occurredAt) >= before - 1000);
    assert.equal(res.body.data.siteId, 'S2');
  });

  it('a retry with the same eventId returns the original with 200 and stores nothing new', async () => {
    const eventId = randomUUID();
    const first = await post({ employeeId: 'E1', type: 'out', eventId, occurredAt: '2026-11-20T16:00:00+01:00' });
    const n = await count();
    const retry = await post({ employeeId: 'E1', type: 'out', eventId, occurredAt: '2026-11-20T16:00:00+01:00' });
    assert.equal(first.status, 201);
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, first.body);
    assert.equal(await count(), n);
  });

  it('concurrent posts get distinct, gapless seqs', async () => {
    const head = (await t.tdb.db('event_seq').first()).value;
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post({ employeeId: `C${i}`, type: 'toggle' })));
    assert.ok(results.every((r) => r.status === 201));
    const seqs = results.map((r) => r.body.data.seq);
    assert.equal(new Set(seqs).size, 40);
    // Every seq the batch used is an event (the check-in or the presence change it caused): no holes.
    const events = await t.tdb.db('events').where('seq', '>', head).orderBy('seq').pluck('seq');
    assert.deepEqual(events, Array.from({ length: 80 }, (_, i) => head + 1 + i));
    assert.ok(seqs.every((s) => events.includes(s)));
  });

  it('an unknown employee is a 404 unknown_employee and nothing is written', async () => {
    const n = await count();
    const res = await post({ employeeId: 'ghost', type: 'in' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'unknown_employee');
    assert.equal(await count(), n);
  });

  it('an unknown site is a 404 unknown_site', async () => {
    const res = await post({ employeeId: 'E1', type: 'in', siteId: 'nowhere' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'unknown_site');
  });

  it('an unknown punch in a group commit does not fail its neighbours', async () => {
    const results = await Promise.all([
      post({ employeeId: 'C1', type: 'toggle' }),
      post({ employeeId: 'ghost', type: 'in' }),
      post({ employeeId: 'C2', type: 'toggle' }),
    ]);
    assert.deepEqual(results.map((r) => r.status), [201, 404, 201]);
  });

  describe('bad input: 4xx with a stable code, never a 500, nothing written', () => {
    const cases: Array<[string, unknown, number, string, Record<string, string>?]> = [
      ['malformed JSON', '{"employeeId":', 400, 'invalid_json'],
      ['missing type', { employeeId: 'E1' }, 400, 'validation_failed'],
      ['wrong type value', { employeeId: 'E1', type: 'sideways' }, 400, 'validation_failed'],
      ['wrong-typed employeeId', { employeeId: 12, type: 'in' }, 400, 'validation_failed'],
      ['extra field', { employeeId: 'E1', type: 'in', admin: true }, 400, 'validation_failed'],
      ['bad eventId', { employeeId: 'E1', type: 'in', eventId: 'not-a-uuid' }, 400, 'validation_failed'],
      ['bad occurredAt', { employeeId: 'E1', type: 'in', occurredAt: '27/11/2026' }, 400, 'validation_failed'],
      // PostgreSQL has no year 0: such a punch failed its whole group with a 500.
      ['occurredAt in year 0', { employeeId: 'E1', type: 'in', occurredAt: '0000-06-01T00:00:00Z' }, 400, 'validation_failed'],
      ['occurredAt before 1900 in UTC', { employeeId: 'E1', type: 'in', occurredAt: '1900-01-01T05:00:00+14:00' }, 400, 'validation_failed'],
      // PostgreSQL text cannot hold NUL: each of these once reached the database and came back a 500.
      ['NUL ending an employeeId', { employeeId: 'E1\u0000', type: 'in' }, 400, 'validation_failed'],
      ['NUL ending a siteId', { employeeId: 'E1', type: 'in', siteId: 'S1\u0000' }, 400, 'validation_failed'],
      ['NUL in a deviceId', { employeeId: 'E1', type: 'in', deviceId: 'kiosk\u00001' }, 400, 'validation_failed'],
      ['NUL in a badge', { badge: 'B\u00001', type: 'in' }, 400, 'validation_failed'],
      ['JSON null', 'null', 400, 'invalid_json'],
      ['a string body', '"in"', 400, 'invalid_json'],
      ['form-encoded body', 'employeeId=E1&type=in', 415, 'unsupported_media_type', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['oversized body', { employeeId: 'E1', type: 'in', deviceId: 'x'.repeat(2 * 1024 * 1024) }, 413, 'payload_too_large'],
    ];
    for (const [label, body, status, code, headers] of cases) {
      it(label, async () => {
        const n = await count();
        const res = await post(body, headers);
        assert.equal(res.status, status, res.text);
        assert.equal(res.body.error.code, code);
        assert.equal(typeof res.body.error.message, 'string');
        assert.equal(await count(), n);
      });
    }

    it('validation details name the wrong field', async () => {
      const res = await post({ employeeId: 'E1', type: 'sideways' });
      assert.deepEqual(res.body.error.details.map((d: any) => d.field), ['type']);
    });
  });

  describe('listing', () => {
    it('filters by employee and site, in seq order, paged with after and limit', async () => {
      const all = await api(t.hub, 'GET', '/api/v1/checkins?limit=1000');
      const seqs = all.body.data.map((c: any) => c.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      const e1 = await api(t.hub, 'GET', '/api/v1/checkins?employeeId=E1&limit=1000');
      assert.ok(e1.body.data.length > 0 && e1.body.data.every((c: any) => c.employeeId === 'E1'));
      const s2 = await api(t.hub, 'GET', '/api/v1/checkins?siteId=S2&limit=1000');
      assert.ok(s2.body.data.length > 0 && s2.body.data.every((c: any) => c.siteId === 'S2'));
      const page = await api(t.hub, 'GET', `/api/v1/checkins?after=${seqs[2]}&limit=3`);
      assert.deepEqual(page.body.data.map((c: any) => c.seq), seqs.slice(3, 6));
      assert.equal(page.body.next, String(seqs[5]));
    });

    it('says where the next page starts, and null on the last page, also when it is exactly full', async () => {
      const seqs = (await api(t.hub, 'GET', '/api/v1/checkins?limit=1000')).body.data.map((c: any) => c.seq);
      assert.equal((await api(t.hub, 'GET', '/api/v1/checkins?limit=1000')).body.next, null);
      const pages: number[][] = [];
      let next: string | null = '0';
      while (next !== null) {
        const res: any = await api(t.hub, 'GET', `/api/v1/checkins?after=${next}&limit=${seqs.length - 1}`);
        pages.push(res.body.data.map((c: any) => c.seq));
        next = res.body.next;
      }
      assert.deepEqual(pages, [seqs.slice(0, -1), seqs.slice(-1)]);
      const exact = await api(t.hub, 'GET', `/api/v1/checkins?limit=${seqs.length}`);
      assert.equal(exact.body.data.length, seqs.length);
      assert.equal(exact.body.next, null);
    });

    it('bounds occurredAt with from (included) and to (left out)', async () => {
      const all = (await api(t.hub, 'GET', '/api/v1/checkins?limit=1000')).body.data;
      const times = [...new Set(all.map((c: any) => c.occurredAt as string))].sort();
      assert.ok(times.length >= 3, 'the tests above stored check-ins at three or more instants');
      const [, second, third] = times as [string, string, string];
      const res = await api(t.hub, 'GET', `/api/v1/checkins?limit=1000&from=${encodeURIComponent(second)}&to=${encodeURIComponent(third)}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data.map((c: any) => c.seq), all.filter((c: any) => c.occurredAt === second).map((c: any) => c.seq));
    });

    it('rejects bad paging values', async () => {
      for (const q of ['limit=0', 'limit=1001', 'after=-1', 'after=abc', 'bogus=1', 'from=yesterday', 'from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z']) {
        const res = await api(t.hub, 'GET', `/api/v1/checkins?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.body.error.code, 'validation_failed');
      }
    });
  });

  it('keeps taking check-ins after the database kills its connections in the middle of a run of groups', async () => {
    // Eight writers back to back keep the committer's run going, so it holds its connection when the
    // database drops every connection; requests in flight then may fail, and later ones must not.
    let stop = false;
    let killed = false;
    let takenAfterKill = 0;
    const seen: number[] = [];
    const writers = Array.from({ length: 8 }, async (_, w) => {
      while (!stop) {
        const sentAfterKill = killed;
        const { status } = await post({ employeeId: `C${20 + w}`, type: 'toggle' });
        seen.push(status);
        if (sentAfterKill && status === 201) takenAfterKill++;
      }
    });
    try {
      await until(() => seen.filter((s) => s === 201).length >= 16, 10_000, 'the run of groups to be going');
      const terminated = await adminQuery('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1', [t.tdb.name]);
      killed = true;
      assert.ok(terminated.rows[0].n >= 1);
      await until(() => takenAfterKill >= 16, 10_000, 'check-ins sent after the kill to be taken');
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    assert.ok(seen.filter((s) => s === 201).length > 8, `statuses ${[...new Set(seen)]}`);
    assert.deepEqual([...new Set(seen)].filter((s) => s !== 201 && s !== 503), [], "a lost connection is a 503 unavailable");
    const after = await Promise.all(Array.from({ length: 8 }, (_, w) => post({ employeeId: `C${20 + w}`, type: 'toggle' })));
    assert.deepEqual(new Set(after.map((r) => r.status)), new Set([201]));
  });

  it('unknown routes are a 404 not_found and wrong methods a 405', async () => {
    const missing = await api(t.hub, 'GET', '/api/v1/nothing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    const wrong = await api(t.hub, 'DELETE', '/api/v1/checkins');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.error.code, 'method_not_allowed');
  });
});
