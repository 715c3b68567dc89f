/** Load on the hub: autocannon at a fixed concurrency (or its overallRate), and an open-loop cross-check. */
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Server } from '../lib/child.js';
import { seqHead } from '../lib/database.js';
import { openLoop, post } from '../lib/load.js';
import { say, sleep } from '../lib/print.js';
import { cpuSnap, cpuUse, sumCpu, type CpuUse } from '../lib/proc.js';
import { percentiles, type Percentiles } from '../lib/stats.js';
import { noteResponse, type Route } from './routes.js';

// ---- autocannon (CommonJS, no bundled types: the few parts used here) ----

type AcContext = { key?: string };
type AcRequest = {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AcRequest, context: AcContext) => AcRequest;
  onResponse?: (status: number, body: string, context: AcContext) => void;
};
type AcResult = { duration: number; errors: number; timeouts: number; non2xx: number; statusCodeStats: Record<string, { count: number }> };
type AcInstance = EventEmitter & PromiseLike<AcResult>;
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  ignoreCoordinatedOmission?: boolean;
  timeout?: number;
  requests: AcRequest[];
}) => AcInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The bench's connection to the raw baseline's database, and how the hubs (each route's own) are loaded. */
export type Target = { db: pg.Client; connections: number; redis: boolean };

export type LoadResult = {
  label: string;
  seconds: number;
  /** Acknowledged requests. */
  created: number;
  statusCounts: Record<string, number>;
  non2xx: number;
  errors: number;
  latency: Percentiles;
  samples: number[];
  groups: { count: number; mean: number; max: number } | null;
  cpu: CpuUse;
  /** What the load generator is called in the CPU line. */
  generator: string;
};

const snap = (t: Target, hub: Server) => cpuSnap([['hub', hub.pid]], { redis: t.redis });
const headersOf = (route: Route): Record<string, string> => (route.authorization ? { authorization: route.authorization } : {});

export async function runAutocannon(t: Target, route: Route, label: string, seconds: number, overallRate?: number, quiet = false): Promise<LoadResult> {
  route.runs++;
  if (!quiet) say(`${label}: autocannon, ${t.connections} connections, ${seconds} s${overallRate ? `, overallRate ${overallRate}/s` : ''}, ${route.path}`);
  const headBefore = await seqHead(route.db);
  const before = snap(t, route.hub);
  const ackedBefore = route.acked.size;
  const latencies: number[] = [];
  const instance = autocannon({
    url: route.hub.url,
    connections: t.connections,
    duration: seconds,
    timeout: 30,
    // With a rate, autocannon's own histogram "corrects" for coordinated omission with a 1 ms interval
    // (ceil(1/rate)), weighting each response by its length in ms. The exact per-response samples
    // below are what is reported, and the achieved rate shows any shortfall.
    ...(overallRate ? { overallRate, ignoreCoordinatedOmission: true } : {}),
    requests: [
      {
        method: 'POST',
        path: route.path,
        headers: { 'content-type': 'application/json', ...headersOf(route) },
        setupRequest(req, context) {
          const { key, body } = route.next();
          context.key = key;
          return { ...req, body };
        },
        onResponse(status, body, context) {
          noteResponse(route, status, context.key, body);
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
  const result = await instance;
  const after = snap(t, route.hub);
  await sleep(300); // requests cut off at the end may still commit; let them, so the seq range is whole
  const headAfter = await seqHead(route.db);
  return {
    label,
    seconds: result.duration,
    created: route.acked.size - ackedBefore,
    statusCounts: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])),
    non2xx: result.non2xx,
    errors: result.errors,
    latency: percentiles(latencies),
    samples: latencies,
    groups: await groupStats(route.db, headBefore + 1, headAfter, route.kind),
    cpu: cpuUse(before, after),
    generator: 'autocannon',
  };
}

/**
 * Open loop at `rate` (node:http, keep-alive), latency from each request's due time. autocannon's
 * overallRate is a per-connection budget per second: it fires each second's requests back to back at
 * full concurrency and then idles, which measures bursts rather than a steady rate.
 */
export async function runPaced(t: Target, route: Route, label: string, seconds: number, rate: number): Promise<LoadResult> {
  say(`${label}: open-loop ${rate}/s for ${seconds} s (node:http, keep-alive)`);
  const headBefore = await seqHead(route.db);
  const before = snap(t, route.hub);
  const ackedBefore = route.acked.size;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  const send = async (_i: number, dueAt: number) => {
    const { key, body } = route.next();
    try {
      const { status, text } = await post(agent, route.hub.url, route.path, body, headersOf(route));
      latencies.push(performance.now() - dueAt);
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      noteResponse(route, status, key, text);
    } catch {
      errors++;
    }
  };
  const run = await openLoop(rate, seconds, send, 5);
  if (run.gaveUp) say(`${label}: more than ${5 * rate} requests outstanding after ${run.sent} sent: the hub fell behind, stopped sending`);
  agent.destroy();
  const after = snap(t, route.hub);
  const headAfter = await seqHead(route.db);
  return {
    label,
    seconds: run.seconds,
    created: route.acked.size - ackedBefore,
    statusCounts,
    non2xx: Object.entries(statusCounts).reduce((n, [k, v]) => n + (k.startsWith('2') ? 0 : v), 0),
    errors,
    latency: percentiles(latencies),
    samples: latencies,
    groups: await groupStats(route.db, headBefore + 1, headAfter, route.kind),
    cpu: cpuUse(before, after),
    generator: 'load generator (this process)',
  };
}

/**
 * How many transactions carried a phase's requests: the events of one transaction share now(), its
 * start, which events.created_at defaults to. Only the route's own event kind is counted (a check-in
 * may bring a presence change with it).
 */
async function groupStats(db: pg.Client, from: number, to: number, kind: string): Promise<LoadResult['groups']> {
  if (to < from) return null;
  const { rows } = await db.query(
    `SELECT count(*)::int AS groups, coalesce(sum(n), 0)::int AS total, coalesce(max(n), 0)::int AS max FROM
       (SELECT created_at, count(*) AS n FROM events WHERE seq BETWEEN $1 AND $2 AND kind = $3 GROUP BY created_at) g`,
    [from, to, kind],
  );
  const count = Number(rows[0].groups);
  return count ? { count, mean: Number(rows[0].total) / count, max: Number(rows[0].max) } : null;
}

/** The slices of one phase as one result. */
export function mergeLoads(label: string, parts: LoadResult[]): LoadResult {
  const samples = parts.flatMap((p) => p.samples);
  const statusCounts: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  const groups = parts.flatMap((p) => (p.groups ? [p.groups] : []));
  const groupCount = groups.reduce((n, g) => n + g.count, 0);
  return {
    label,
    seconds: parts.reduce((n, p) => n + p.seconds, 0),
    created: parts.reduce((n, p) => n + p.created, 0),
    statusCounts,
    non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    latency: percentiles(samples),
    samples,
    groups: groupCount
      ? { count: groupCount, mean: groups.reduce((n, g) => n + g.mean * g.count, 0) / groupCount, max: Math.max(...groups.map((g) => g.max)) }
      : null,
    cpu: sumCpu(parts.map((p) => p.cpu)),
    generator: parts[0]!.generator,
  };
}
