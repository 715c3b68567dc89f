/**
 * Small helpers for the benchmarks: the bench database, ports, /proc readings, a mergeable latency
 * histogram, shared by the ingest and broadcast benchmarks.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { Redis } from 'ioredis';

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

// ---- /proc (Linux; zeros elsewhere) ----

export const TICKS_PER_SEC = 100;

/** utime + stime of one process, in clock ticks. */
export function procTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Ticks of every process with this command name (e.g. every postgres backend: shared machine-wide), by pid. */
export function ticksByName(comm: string): Map<number, number> {
  const ticks = new Map<number, number>();
  let names: string[] = [];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return ticks;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/comm`, 'utf8').trim() === comm) ticks.set(Number(name), procTicks(Number(name)));
    } catch {
      /* gone */
    }
  }
  return ticks;
}

/** Ticks used between two ticksByName readings: processes born since count in full; ones that exited are lost. */
export function ticksBetween(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, t] of b) total += Math.max(0, t - (a.get(pid) ?? 0));
  return total;
}

export function machineTicks(): { busy: number; total: number } {
  try {
    const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Resident set size of a process in KiB (VmRSS), NaN if unknown. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function machineSummary(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`;
}

// ---- latency ----

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

/** Delete every Redis key under a prefix (a bench's own); returns how many went. */
export async function removeRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  let removed = 0;
  try {
    for (let cursor = '0'; ; ) {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) removed += await redis.del(...keys);
      cursor = nextCursor;
      if (cursor === '0') break;
    }
  } finally {
    await redis.quit();
  }
  return removed;
}
