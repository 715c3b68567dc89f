/** Progress lines and the few number formats both benchmarks print. */
import { performance } from 'node:perf_hooks';

const started = performance.now();

/** A progress line, stamped with the seconds since the bench started. */
export const say = (msg: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

export const ms = (v: number, digits = 1) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a');
export const num = (v: number) => v.toLocaleString('en-US');
export const perSec = (v: number) => `${num(Math.round(v))}/s`;
export const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : 'n/a');
export const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** A flag that must be a positive number. */
export function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}
