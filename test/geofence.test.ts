import assert from 'node:assert/strict';
import type { Knex } from '../server/db/knex.js';
import { distanceMeters, judgeFence } from '../server/services/ledger/geofence.js';
import { makeEmployee } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';
import { withToken } from './support/signin.js';

// One degree along a meridian (or the equator) is 2π × 6,371,008.8 m / 360 = 111,195.08 m.
const DEGREE_M = 111_195.08;
const SITE = { lat: 0, lon: 0, radiusMeters: 100 };

describe('geofence rules (pure)', () => {
  it('distance: a degree of latitude, a degree of longitude on the equator, and nothing', () => {
    assert.ok(Math.abs(distanceMeters({ lat: 0, lon: 0 }, { lat: 1, lon: 0 }) - DEGREE_M) < 0.01);
    assert.ok(Math.abs(distanceMeters({ lat: 0, lon: 0 }, { lat: 0, lon: 1 }) - DEGREE_M) < 0.01);
    assert.equal(distanceMeters({ lat: 52.52, lon: 13.405 }, { lat: 52.52, lon: 13.405 }), 0);
  });

  it('the edge: 0.0009° is 100.08 m, just outside 100 m; one metre of accuracy brings it inside', () => {
    const edge = { lat: 0.0009, lon: 0 };
    assert.deepEqual(judgeFence({ ...SITE, mode: 'reject' }, { ...edge, accuracyMeters: 0 }, false).ok, false);
    assert.deepEqual(judgeFence({ ...SITE, mode: 'reject' }, { ...edge, accuracyMeters: 1 }, false), { ok: true, result: 'inside' });
    // 0.0008° is 88.96 m: inside with no accuracy allowed at all.
    assert.deepEqual(judgeFence({ ...SITE, mode: 'reject' }, { lat: 0.0008, lon: 0, accuracyMeters: 0 }, false), { ok: true, result: 'inside' });
  });

  it('per mode: off judges nothing; flag marks outside and unknown; reject refuses both; exempt judges nothing', () => {
    const far = { lat: 0.01, lon: 0, accuracyMeters: 5 };
    assert.deepEqual(judgeFence({ ...SITE, mode: 'off' }, far, false), { ok: true });
    assert.deepEqual(judgeFence({ ...SITE, mode: 'flag' }, far, false), { ok: true, result: 'outside' });
    assert.deepEqual(judgeFence({ ...SITE, mode: 'flag' }, undefined, false), { ok: true, result: 'unknown' });
    assert.equal((judgeFence({ ...SITE, mode: 'reject' }, far, false) as { code: string }).code, 'outside_geofence');
    assert.equal((judgeFence({ ...SITE, mode: 'reject' }, undefined, false) as { code: string }).code, 'location_required');
    assert.deepEqual(judgeFence({ ...SITE, mode: 'reject' }, far, true), { ok: true });
    assert.deepEqual(judgeFence(null, far, false), { ok: true });
  });
});

describe('geofenced punches over HTTP', () => {
  const t = useTestHub({ seed });
  async function seed(db: Knex) {
    for (const id of ['A', 'B', 'C', 'E']) await makeEmployee(db, { id });
  }
  const inside = { lat: 52.52, lon: 13.405, accuracyMeters: 10 };
  // 0.01° north: 1,112 m away.
  const outside = { lat: 52.53, lon: 13.405, accuracyMeters: 10 };
  let kiosk: string;
  let fixedKiosk: string;

  before(async () => {
    const site = await api(t.hub, 'POST', '/api/v1/sites', { id: 'G', name: 'Gate', timeZone: 'Europe/Berlin', geofence: { lat: 52.52, lon: 13.405, radiusMeters: 150, mode: 'reject' } });
    assert.equal(site.status, 201, site.text);
    assert.deepEqual(site.body.data.geofence, { lat: 52.52, lon: 13.405, radiusMeters: 150, mode: 'reject' });
    for (const id of ['A', 'B', 'C', 'E']) assert.equal((await api(t.hub, 'PATCH', `/api/v1/employees/${id}`, { siteId: 'G' })).status, 200);
    kiosk = await t.hub.token('kiosk', ['G']);
    const fixed = await api(t.hub, 'POST', '/api/v1/tokens', { name: 'lobby', role: 'kiosk', sites: ['G'], geofenceExempt: true });
    assert.equal(fixed.status, 201, fixed.text);
    assert.equal(fixed.body.data.geofenceExempt, true);
    fixedKiosk = fixed.body.data.token;
  });

  const punch = (token: string, body: object) => api(t.hub, 'POST', '/api/v1/checkins', { type: 'in', siteId: 'G', ...body }, withToken(token));
  const stored = async (employeeId: string) => (await api(t.hub, 'GET', `/api/v1/checkins?employeeId=${employeeId}`)).body.data;

  it('reject: outside is refused (outside_geofence), no location is refused (location_required), nothing stored; inside is stored as inside', async () => {
    const far = await punch(kiosk, { employeeId: 'A', location: outside });
    assert.equal(far.status, 403, far.text);
    assert.equal(far.body.error.code, 'outside_geofence');
    const none = await punch(kiosk, { employeeId: 'A' });
    assert.equal(none.status, 403, none.text);
    assert.equal(none.body.error.code, 'location_required');
    assert.deepEqual(await stored('A'), []);
    const near = await punch(kiosk, { employeeId: 'A', location: inside });
    assert.equal(near.status, 201, near.text);
    assert.deepEqual({ geofence: near.body.data.geofence, location: near.body.data.location }, { geofence: 'inside', location: inside });
  });

  it('flag: outside is stored and marked; a site changed back to off marks nothing', async () => {
    assert.equal((await api(t.hub, 'PATCH', '/api/v1/sites/G', { geofence: { lat: 52.52, lon: 13.405, radiusMeters: 150, mode: 'flag' } })).status, 200);
    const far = await punch(kiosk, { employeeId: 'B', location: outside });
    assert.equal(far.status, 201, far.text);
    assert.equal(far.body.data.geofence, 'outside');
    // A punched here under `reject` a moment ago, so this node knows A and the fence it had: the change must still hold.
    const leaving = await punch(kiosk, { employeeId: 'A', type: 'out', location: outside });
    assert.equal(leaving.status, 201, leaving.text);
    assert.equal(leaving.body.data.geofence, 'outside');
    assert.equal((await api(t.hub, 'PATCH', '/api/v1/sites/G', { geofence: { lat: 52.52, lon: 13.405, radiusMeters: 150, mode: 'off' } })).status, 200);
    const off = await punch(kiosk, { employeeId: 'C', location: outside });
    assert.equal(off.status, 201, off.text);
    assert.equal(off.body.data.geofence, undefined);
    assert.equal((await api(t.hub, 'PATCH', '/api/v1/sites/G', { geofence: { lat: 52.52, lon: 13.405, radiusMeters: 150, mode: 'reject' } })).status, 200);
  });

  it('an exempt kiosk token punches without a location at a rejecting site; only kiosk tokens can be exempt', async () => {
    const res = await punch(fixedKiosk, { employeeId: 'E' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.data.geofence, undefined);
    const manager = await api(t.hub, 'POST', '/api/v1/tokens', { name: 'm', role: 'manager', sites: ['G'], geofenceExempt: true });
    assert.equal(manager.status, 400, manager.text);
    assert.equal(manager.body.error.code, 'validation_failed');
  });

  it('bad fences and locations are 400 validation_failed', async () => {
    for (const geofence of [{ lat: 91, lon: 0, radiusMeters: 10, mode: 'flag' }, { lat: 0, lon: 0, radiusMeters: 0, mode: 'flag' }, { lat: 0, lon: 0, radiusMeters: 10, mode: 'maybe' }, { lat: 0, lon: 0, mode: 'flag' }]) {
      const res = await api(t.hub, 'PATCH', '/api/v1/sites/G', { geofence });
      assert.equal(res.status, 400, JSON.stringify(geofence));
    }
    for (const location of [{ lat: 0, lon: 181 }, { lat: 'x', lon: 0 }, { lat: 0, lon: 0, accuracyMeters: -1 }, { lat: 0, lon: 0, extra: 1 }]) {
      const res = await punch(kiosk, { employeeId: 'A', type: 'out', location });
      assert.equal(res.status, 400, JSON.stringify(location));
      assert.equal(res.body.error.code, 'validation_failed');
    }
  });
});
