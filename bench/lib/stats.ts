/** Latency summaries: exact percentiles of a sample, and a whole-millisecond histogram that can cross processes. */

export type Percentiles = { p50: number; p99: number; max: number; n: number };

/** Exact nearest-rank percentiles of a sample (ms). */
export function percentiles(samples: number[]): Percentiles {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! : NaN);
  return { p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1]! : NaN, n: s.length };
}

/** Whole-millisecond histogram: cheap to fill, and sent between processes as [value, count] pairs. */
export class MsHistogram {
  private counts = new Map<number, number>();
  count = 0;
  private sum = 0;

  add(ms: number, n = 1): void {
    const v = Math.round(ms);
    this.counts.set(v, (this.counts.get(v) ?? 0) + n);
    this.count += n;
    this.sum += v * n;
  }

  reset(): void {
    this.counts.clear();
    this.count = 0;
    this.sum = 0;
  }

  merge(entries: Array<[number, number]>): void {
    for (const [v, n] of entries) this.add(v, n);
  }

  entries(): Array<[number, number]> {
    return [...this.counts];
  }

  /** Nearest-rank percentile (q in 0..1). */
  percentile(q: number): number {
    if (!this.count) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const [v, n] of [...this.counts].sort((a, b) => a[0] - b[0])) {
      seen += n;
      if (seen >= rank) return v;
    }
    return NaN;
  }

  get mean(): number {
    return this.count ? this.sum / this.count : NaN;
  }

  get max(): number {
    return this.count ? Math.max(...this.counts.keys()) : NaN;
  }
}
