/**
 * How long to wait after the n-th failure in a row (n ≥ 1): doubling from `baseMs` up to `maxMs`, then
 * a random part of it taken off ("equal jitter": between half and all of it), so endpoints that failed
 * together do not all retry together.
 */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
