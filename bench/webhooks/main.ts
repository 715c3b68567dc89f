/**
 * Webhook benchmark (`npm run bench:webhooks`): 10 endpoints on localhost, one per site, receiving
 * the check-ins committed at 1,000/s between them, and what delivering them costs ingest.
 *
 *   1. latency     open loop at --rate check-ins/s on the hub with webhooks: for every delivery, the
 *                  time from the check-in's recordedAt (read under the seq lock, just before commit)
 *                  to its arrival at the receiver → p50/p99/max
 *   2. throughput  autocannon at a fixed concurrency on two hubs alike but for the webhooks (each on a
 *                  database of its own), in alternating rounds → check-ins/s, and with/without
 *   3. check       every acknowledged check-in reached its site's endpoint, in seq order, and no
 *                  acknowledged delivery was sent twice
 *
 * Exit 1 only when the run is invalid (an error response, a lost, repeated or out-of-order delivery).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { runAutocannon, runPaced, type LoadResult, type Target } from '../ingest/load.js';
import { checkinRoute } from '../ingest/routes.js';
import { createToken, startHub, UNLIMITED } from '../lib/child.js';
import { allSites, connect, createBenchDatabase } from '../lib/database.js';
import { codeVersion, machineLine } from '../lib/machine.js';
import { ms, perSec, positive, say, sleep, verdict } from '../lib/print.js';
import { onCleanup, run } from '../lib/run.js';
import { percentiles } from '../lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '32' },
    employees: { type: 'string', default: '5000' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench:webhooks -- [--rate 1000] [--duration 10] [--rounds 4] [--connections 32] [--employees 5000]
--rate       check-ins/s offered in the latency phase (open loop)
--duration   seconds of the latency phase, and of each hub's throughput in all (split over --rounds)
DATABASE_URL admin connection (default postgres://postgres@127.0.0.1:5432/postgres); databases hub_bench_<pid>_* are created and dropped`);
  process.exit(0);
}
const RATE = positive('rate', flags.rate);
const DURATION = positive('duration', flags.duration);
const ROUNDS = Math.round(positive('rounds', flags.rounds));
const CONNECTIONS = Math.round(positive('connections', flags.connections));
const EMPLOYEES = Math.round(positive('employees', flags.employees));
const P99_TARGET_MS = 1000;
const INGEST_FLOOR = 0.9;

type Arrival = { seq: number; latencyMs: number };

/** One receiver: answers 204 to every POST and notes each event's seq and its commit → arrival time. */
async function startReceiver(): Promise<{ url: string; arrivals: Arrival[]; close(): Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: number; payload: { recordedAt: string } };
      arrivals.push({ seq: event.seq, latencyMs: at - Date.parse(event.payload.recordedAt) });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, arrivals, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function main(): Promise<number> {
  const hooksUrl = await createBenchDatabase(`hub_bench_${process.pid}_hooks`, EMPLOYEES);
  const plainUrl = await createBenchDatabase(`hub_bench_${process.pid}_plain`, EMPLOYEES);
  const hooksDb = await connect(hooksUrl);
  const plainDb = await connect(plainUrl);
  const machine = await machineLine(hooksDb);
  const code = codeVersion();
  say(`machine: ${machine}`);
  say(`code: ${code}`);

  const adminToken = `ahub_${randomBytes(32).toString('base64url')}`;
  const env = { ...UNLIMITED, ADMIN_TOKEN: adminToken };
  const hooks = await startHub({ name: 'hub-webhooks', dbUrl: hooksUrl, env });
  const plain = await startHub({ name: 'hub-plain', dbUrl: plainUrl, env });
  const sites = allSites();
  const receivers = await Promise.all(sites.map(() => startReceiver()));
  onCleanup(async () => {
    for (const r of receivers) await r.close();
  });
  const endpointOf = new Map<string, number>();
  for (const [i, site] of sites.entries()) {
    const res = await fetch(`${hooks.url}/api/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ url: receivers[i]!.url, events: ['checkin.recorded'], sites: [site] }),
    });
    if (res.status !== 201) throw new Error(`registering a webhook answered ${res.status}: ${await res.text()}`);
    endpointOf.set(site, i);
  }
  say(`${receivers.length} webhook endpoints on localhost, one per site, each for checkin.recorded`);
  const kiosk = async (url: string) => `Bearer ${await createToken(url, adminToken, { name: 'bench kiosk', role: 'kiosk', sites })}`;
  const t: Target = { db: hooksDb, connections: CONNECTIONS, redis: false };
  const withHooks = checkinRoute(EMPLOYEES, { name: 'check-ins, 10 webhooks', hub: hooks, db: hooksDb, authorization: await kiosk(hooks.url) });
  const without = checkinRoute(EMPLOYEES, { name: 'check-ins, no webhooks', hub: plain, db: plainDb, authorization: await kiosk(plain.url) });
  const delivered = () => receivers.reduce((n, r) => n + r.arrivals.length, 0);
  const stored = async () => (await hooksDb.query('SELECT count(*)::int AS n FROM checkins')).rows[0].n as number;
  /** Waits until the receivers hold every check-in stored (or 60 s pass). */
  const drained = async () => {
    for (const deadline = Date.now() + 60_000; delivered() < (await stored()) && Date.now() < deadline; ) await sleep(100);
  };

  // 1. commit → received, at the offered rate.
  await runPaced(t, withHooks, 'warm-up', 2, RATE);
  await drained();
  const warm = receivers.map((r) => r.arrivals.length);
  const paced = await runPaced(t, withHooks, `paced ${RATE}/s`, DURATION, RATE);
  await drained();
  const latency = percentiles(receivers.flatMap((r, i) => r.arrivals.slice(warm[i]).map((a) => a.latencyMs)));
  say(`paced: ${paced.created} check-ins in ${paced.seconds.toFixed(1)} s = ${perSec(paced.created / paced.seconds)}; request p99 ${ms(paced.latency.p99)}`);
  say(`commit → received: p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)} over ${latency.n} deliveries`);

  // 2. ingest with and without webhooks, alternating.
  const seconds = DURATION / ROUNDS;
  const slices: Record<'with' | 'without', LoadResult[]> = { with: [], without: [] };
  const byRound: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const order = r % 2 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    const got: Partial<Record<'with' | 'without', LoadResult>> = {};
    for (const which of order) got[which] = await runAutocannon(t, which === 'with' ? withHooks : without, `${which} webhooks ${r}/${ROUNDS}`, seconds, undefined, true);
    for (const which of order) slices[which].push(got[which]!);
    const rate = (l: LoadResult) => l.created / l.seconds;
    byRound.push(rate(got.with!) / rate(got.without!));
    say(`  round ${r}: without ${perSec(rate(got.without!))}, with ${perSec(rate(got.with!))}, ratio ${byRound.at(-1)!.toFixed(2)}`);
  }
  const total = (ls: LoadResult[]) => ls.reduce((a, l) => ({ n: a.n + l.created, s: a.s + l.seconds }), { n: 0, s: 0 });
  const [w, wo] = [total(slices.with), total(slices.without)];
  const ratio = w.n / w.s / (wo.n / wo.s);
  const errors = [...slices.with, ...slices.without, paced].reduce((n, l) => n + l.non2xx + l.errors, 0);

  // 3. every acknowledged check-in delivered to its site's endpoint, in order, once.
  await drained();
  await hooks.stop();
  await plain.stop();
  const { rows } = await hooksDb.query(`SELECT seq::int AS seq, site_id FROM checkins ORDER BY seq`);
  let lost = 0;
  let repeated = 0;
  let disordered = 0;
  const got = receivers.map((r) => r.arrivals.map((a) => a.seq));
  for (const seqs of got) for (let i = 1; i < seqs.length; i++) if (seqs[i]! <= seqs[i - 1]!) (seqs[i] === seqs[i - 1] ? repeated++ : disordered++);
  const sets = got.map((seqs) => new Set(seqs));
  for (const row of rows as Array<{ seq: number; site_id: string }>) if (!sets[endpointOf.get(row.site_id)!]!.has(row.seq)) lost++;
  const valid = errors === 0 && lost === 0 && repeated === 0 && disordered === 0;

  console.log('');
  console.log('== webhook benchmark ==');
  console.log(`command:  npm run bench:webhooks -- --rate ${RATE} --duration ${DURATION} --rounds ${ROUNDS} --connections ${CONNECTIONS} (employees ${EMPLOYEES}, 10 endpoints, no Redis)`);
  console.log(`machine:  ${machine}`);
  console.log(`code:     ${code}`);
  console.log(`latency:  commit → received at ${perSec(paced.created / paced.seconds)}: p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)} (${latency.n} deliveries)`);
  console.log(`ingest:   with webhooks ${perSec(w.n / w.s)}, without ${perSec(wo.n / wo.s)} at ${CONNECTIONS} connections: with/without = ${ratio.toFixed(2)} (by round: ${byRound.map((r) => r.toFixed(2)).join(', ')})`);
  console.log(`check:    ${rows.length} check-ins stored; ${delivered()} deliveries; lost ${lost}, repeated ${repeated}, out of order ${disordered}; error responses ${errors}`);
  console.log(`target:   commit → received p99 < ${P99_TARGET_MS} ms: ${verdict(latency.p99 < P99_TARGET_MS)}; ingest with/without ≥ ${INGEST_FLOOR}: ${verdict(ratio >= INGEST_FLOOR)}`);
  return valid ? 0 : 1;
}

run(main);
