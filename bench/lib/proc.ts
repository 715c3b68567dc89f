/**
 * CPU and memory from /proc (Linux; zeros elsewhere). Each phase prints the CPU of every party, and of
 * "everything else": the machine is shared, and other people's work moves the figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const TICKS_PER_SEC = 100;

/** utime + stime of one process, in clock ticks. */
function procTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Ticks of every process with this command name (e.g. every postgres backend, machine-wide), by pid. */
function ticksByName(comm: string): Map<number, number> {
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
function ticksBetween(a: Map<number, number>, b: Map<number, number>): number {
  let total = 0;
  for (const [pid, t] of b) total += Math.max(0, t - (a.get(pid) ?? 0));
  return total;
}

function machineTicks(): { busy: number; total: number } {
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

type CpuSnap = {
  t: number;
  procs: Array<[string, number]>;
  pg: Map<number, number>;
  redis: Map<number, number> | null;
  self: NodeJS.CpuUsage;
  machine: { busy: number; total: number };
};

/** A reading of the named processes, this one, every postgres (and with `redis`, redis-server) and the machine. */
export function cpuSnap(procs: Array<[string, number]>, opts: { redis?: boolean } = {}): CpuSnap {
  return {
    t: performance.now(),
    procs: procs.map(([name, pid]) => [name, procTicks(pid)]),
    pg: ticksByName('postgres'),
    redis: opts.redis ? ticksByName('redis-server') : null,
    self: process.cpuUsage(),
    machine: machineTicks(),
  };
}

/** CPU seconds each party used between two readings; `others` is other people's work on the machine. */
export type CpuUse = {
  secs: number;
  procs: Record<string, number>;
  self: number;
  pg: number;
  redis: number | null;
  others: number;
  machineBusy: number | null;
};

export function cpuUse(a: CpuSnap, b: CpuSnap): CpuUse {
  const procs: Record<string, number> = {};
  b.procs.forEach(([name, t], i) => (procs[name] = (t - a.procs[i]![1]) / TICKS_PER_SEC));
  const self = (b.self.user - a.self.user + (b.self.system - a.self.system)) / 1e6;
  const pg = ticksBetween(a.pg, b.pg) / TICKS_PER_SEC;
  const redis = a.redis && b.redis ? ticksBetween(a.redis, b.redis) / TICKS_PER_SEC : null;
  const mTotal = b.machine.total - a.machine.total;
  const mBusy = (b.machine.busy - a.machine.busy) / TICKS_PER_SEC;
  const ours = Object.values(procs).reduce((s, v) => s + v, 0) + self + pg + (redis ?? 0);
  return {
    secs: (b.t - a.t) / 1000,
    procs,
    self,
    pg,
    redis,
    others: Math.max(0, mBusy - ours),
    machineBusy: mTotal ? (b.machine.busy - a.machine.busy) / mTotal : null,
  };
}

/** Several readings as one (the slices of a phase). */
export function sumCpu(parts: CpuUse[]): CpuUse {
  const secs = parts.reduce((n, c) => n + c.secs, 0);
  const procs: Record<string, number> = {};
  for (const p of parts) for (const [name, v] of Object.entries(p.procs)) procs[name] = (procs[name] ?? 0) + v;
  const add = (k: 'self' | 'pg' | 'others') => parts.reduce((n, c) => n + c[k], 0);
  return {
    secs,
    procs,
    self: add('self'),
    pg: add('pg'),
    redis: parts.every((c) => c.redis !== null) ? parts.reduce((n, c) => n + c.redis!, 0) : null,
    others: add('others'),
    machineBusy: parts.every((c) => c.machineBusy !== null) ? parts.reduce((n, c) => n + c.machineBusy! * c.secs, 0) / secs : null,
  };
}

/** CPU used, as % of one core (the machine's as % of all cores). */
export function cpuLine(u: CpuUse, selfLabel: string): string {
  const core = (cpuSecs: number) => `${Math.round((cpuSecs / u.secs) * 100)}%`;
  const parts = [
    ...Object.entries(u.procs).map(([name, v]) => `${name} ${core(v)}`),
    `${selfLabel} ${core(u.self)}`,
    `postgres (all backends) ${core(u.pg)}`,
    ...(u.redis === null ? [] : [`redis-server ${core(u.redis)}`]),
    `everything else ${u.machineBusy === null ? 'n/a' : core(u.others)}`,
  ];
  const machine = u.machineBusy === null ? 'n/a' : `${Math.round(u.machineBusy * 100)}% of ${os.cpus().length} cores`;
  return `CPU (% of one core): ${parts.join(', ')}; machine busy ${machine}`;
}
