/**
 * The hub against raw in alternating slices. The machine is shared and the load from others drifts by
 * tens of percent within a minute: a ratio of two phases run one after the other measured that drift
 * as much as the hub, so each round runs every party once and the order turns round every round.
 */
import { perSec, say } from '../lib/print.js';
import { sumCpu } from '../lib/proc.js';
import { percentiles } from '../lib/stats.js';
import { mergeLoads, runAutocannon, type LoadResult, type Target } from './load.js';
import { openRaw, type RawResult } from './raw.js';
import type { Route } from './routes.js';

type RouteResult = { route: Route; load: LoadResult; rate: number; ratio: number; rounds: number[] };
type Throughput = { slices: LoadResult[]; routes: RouteResult[]; raw: RawResult; rawRate: number };

/**
 * Each party runs `duration` seconds in all, in `rounds` slices. Odd rounds run the first route, raw,
 * then the others; even rounds the reverse, so raw sits between the routes and each route meets it
 * first as often as second.
 */
export async function runThroughput(t: Target, routes: Route[], opts: { dbUrl: string; employees: number; duration: number; rounds: number; warmup: number }): Promise<Throughput> {
  const seconds = opts.duration / opts.rounds;
  say(
    `throughput: ${routes.map((r) => r.name).join(' and ')} (autocannon) against raw (${t.connections} pg clients looping BEGIN; INSERT one row; COMMIT), ` +
      `${t.connections} at a time, ${opts.rounds} alternating rounds of ${seconds} s each`,
  );
  const raw = await openRaw(opts.dbUrl, t.connections, opts.employees, routes[0]!.hub.pid);
  const loads = new Map<Route, LoadResult[]>(routes.map((r) => [r, []]));
  const raws: RawResult[] = [];
  const rounds: Array<Map<Route, number>> = [];
  try {
    if (opts.warmup > 0) await raw.slice(Math.min(opts.warmup, 3));
    for (let r = 1; r <= opts.rounds; r++) {
      const parties: Array<Route | 'raw'> = [routes[0]!, 'raw', ...routes.slice(1)];
      if (r % 2 === 0) parties.reverse();
      const got = new Map<Route, LoadResult>();
      let w: RawResult | undefined;
      for (const p of parties) {
        if (p === 'raw') w = await raw.slice(seconds);
        else got.set(p, await runAutocannon(t, p, `${p.name} ${r}/${opts.rounds}`, seconds, undefined, true));
      }
      raws.push(w!);
      const rawRate = w!.rows / w!.seconds;
      const ratios = new Map<Route, number>();
      const parts: string[] = [];
      for (const [route, l] of got) {
        loads.get(route)!.push(l);
        const rate = l.created / l.seconds;
        ratios.set(route, rate / rawRate);
        parts.push(`${route.name} ${perSec(rate)} (mean ${l.groups?.mean.toFixed(1) ?? '-'} per transaction), ratio ${(rate / rawRate).toFixed(2)}`);
      }
      rounds.push(ratios);
      say(`  round ${r}: raw ${perSec(rawRate)}; ${parts.join('; ')}`);
    }
  } finally {
    await raw.close();
  }
  const { rows } = await t.db.query('SELECT count(*)::int AS n FROM raw_checkins');
  if (rows[0].n !== raw.committedTotal()) throw new Error(`raw_checkins has ${rows[0].n} rows but ${raw.committedTotal()} inserts committed`);

  const samples = raws.flatMap((w) => w.samples);
  const rawAll: RawResult = {
    seconds: raws.reduce((n, w) => n + w.seconds, 0),
    rows: samples.length,
    latency: percentiles(samples),
    samples,
    cpu: sumCpu(raws.map((w) => w.cpu)),
  };
  const rawRate = rawAll.rows / rawAll.seconds;
  const results = routes.map((route): RouteResult => {
    const load = mergeLoads(`throughput (${route.name})`, loads.get(route)!);
    const rate = load.created / load.seconds;
    return { route, load, rate, ratio: rate / rawRate, rounds: rounds.map((m) => m.get(route)!) };
  });
  return { slices: [...loads.values()].flat(), routes: results, raw: rawAll, rawRate };
}
