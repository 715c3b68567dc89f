import type { Geofence } from '../../../shared/directory.js';
import type { Location } from '../../../shared/schemas.js';

/** The mean Earth radius (IUGG), in metres: plenty for fences of tens to thousands of metres. */
const EARTH_RADIUS_M = 6_371_008.8;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance in metres (haversine). */
export function distanceMeters(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

export type FenceVerdict =
  | { ok: true; result?: 'inside' | 'outside' | 'unknown' }
  | { ok: false; code: 'outside_geofence' | 'location_required'; message: string };

/**
 * A punch against its site's geofence. Accuracy counts in the punch's favour: it is outside only when
 * even the nearest point its reported accuracy allows lies beyond the radius. A fence that is off, an
 * exempt (fixed) kiosk, or no fence at all judge nothing and mark nothing.
 */
export function judgeFence(fence: Geofence | null, location: Location | undefined, exempt: boolean): FenceVerdict {
  if (!fence || fence.mode === 'off' || exempt) return { ok: true };
  if (!location) {
    if (fence.mode === 'reject') return { ok: false, code: 'location_required', message: 'this site takes punches only with a location (lat, lon, accuracyMeters)' };
    return { ok: true, result: 'unknown' };
  }
  const distance = distanceMeters(fence, location);
  if (distance - location.accuracyMeters <= fence.radiusMeters) return { ok: true, result: 'inside' };
  if (fence.mode === 'flag') return { ok: true, result: 'outside' };
  return {
    ok: false,
    code: 'outside_geofence',
    message: `the punch was made ${Math.round(distance)} m from the site (accuracy ${Math.round(location.accuracyMeters)} m); the site takes punches within ${fence.radiusMeters} m`,
  };
}
