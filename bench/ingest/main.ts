/**
 * Ingest benchmark (`npm run bench:ingest`): the hub's write paths against raw single-row INSERT
 * transactions, on real PostgreSQL, in one run.
 *
 *   1. throughput  autocannon at a fixed concurrency: distinct `toggle` check-ins with a kiosk token,
 *                  the same on a second hub with AUTH_ENABLED=false (what authentication costs), and
 *                  (unless --no-create) distinct creates on the older API's route → per second,
 *                  p50/p99, per transaction;
 *      raw         as many pg clients looping BEGIN; INSERT one row; COMMIT → rows/s; all in
 *                  alternating slices, so every party sees the same machine (see rounds.ts)
 *   2. fixed       check-ins by autocannon overallRate → achieved rate, p50/p99
 *   3. paced       check-ins, open loop at the same rate: a cross-check of 2
 *
 * Then the database must hold every acknowledged request, under gapless seqs. Exit 1 only when the run
 * is invalid (an error response, a lost or stray write, a seq gap); missed targets are printed, not thrown.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createToken, repeatedLines, startHub, UNLIMITED } from '../lib/child.js';
import { allSites, connect, createBenchDatabase } from '../lib/database.js';
import { codeVersion, machineLine } from '../lib/machine.js';
import { ms, num, perSec, positive, say, verdict } from '../lib/print.js';
import { cpuLine } from '../lib/proc.js';
import { removeRedisKeys } from '../lib/redis.js';
import { onCleanup, run } from '../lib/run.js';
import { runAutocannon, runPaced, type LoadResult, type Target } from './load.js';
import { commitFloor, createRawTable, type RawResult } from './raw.js';
import { runThroughput } from './rounds.js';
import { checkinRoute, createRoute, errorSamples } from './routes.js';
import { verify } from './verify.js';

const { values: flags } = parseArgs({
  allowNegative: true,
  options: {
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    employees: { type: 'string', default: '5000' },
    create: { type: 'boolean', default: true },
    redis: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench:ingest -- [--connections 32] [--duration 15] [--rounds 5] [--warmup 3] [--rate 1000] [--employees 5000] [--no-create] [--redis] [--workers 1]
--workers N   also run the hub with WORKERS=N (its own database, same kiosk token use) in the same rounds: WORKERS=N against WORKERS=1
--no-create   leave out the older API's creates (POST /api/v1/attendance/create) from the throughput rounds
DATABASE_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres); a database hub_bench_<pid> is created and dropped
REDIS_URL     when set (or --redis given: REDIS_URL, else redis://127.0.0.1:6379) the hub runs with Redis; otherwise single node, so the DB path is measured`);
  process.exit(0);
}
const CONNECTIONS = Math.round(positive('connections', flags.connections));
// Each party runs DURATION seconds in all, split into ROUNDS slices that alternate.
const DURATION = positive('duration', flags.duration);
const ROUNDS = Math.round(positive('rounds', flags.rounds));
const WARMUP = Number(flags.warmup) || 0;
const RATE = positive('rate', flags.rate);
const EMPLOYEES = Math.round(positive('employees', flags.employees));
const WORKERS = Math.round(positive('workers', flags.workers));
const P99_TARGET_MS = 50;
const AUTH_FLOOR = 0.95;
const REDIS_URL = process.env.REDIS_URL || (flags.redis ? 'redis://127.0.0.1:6379' : undefined);
// The hub's cache keys, when it runs with Redis: its own, removed at the end.
const REDIS_PREFIX = `bench-ingest-${process.pid}`;

/**
 * The most check-ins/s this machine could take at the CPU each one cost in the throughput phase, if
 * every core were busy and nothing ever waited, against what raw achieved: the ratio cannot exceed it.
 */
function cpuCeiling(load: LoadResult, raw: RawResult, rawRate: number): string {
  if (load.cpu.machineBusy === null || !load.created) return 'n/a (no /proc CPU figures)';
  const us = (cpuSecs: number, n: number) => (cpuSecs / n) * 1e6;
  const [hub, gen, pg] = [us(load.cpu.procs.hub ?? 0, load.created), us(load.cpu.self, load.created), us(load.cpu.pg, load.created)];
  const rawCount = rawRate * raw.cpu.secs;
  const [rawClients, rawPg] = [us(raw.cpu.self, rawCount), us(raw.cpu.pg, rawCount)];
  const cores = os.cpus().length;
  const most = (cores * 1e6) / (hub + gen + pg);
  const f = (v: number) => `${Math.round(v)} µs`;
  return (
    `CPU per check-in: hub ${f(hub)} + ${load.generator} ${f(gen)} + PostgreSQL ${f(pg)} = ${f(hub + gen + pg)}; ` +
    `${cores} cores, all busy and never waiting, take at most ${perSec(most)} = ${(most / rawRate).toFixed(2)} of raw's ${perSec(rawRate)} ` +
    `(raw per insert: pg clients ${f(rawClients)} + PostgreSQL ${f(rawPg)} = ${f(rawClients + rawPg)})`
  );
}

function printLoad(l: LoadResult, what: string, target?: number) {
  say(
    `${l.label}: ${num(l.created)} ${what} in ${l.seconds.toFixed(2)} s = ${perSec(l.created / l.seconds)}` +
      `${target ? ` (target ${perSec(target)})` : ''}; latency p50 ${ms(l.latency.p50)}, p99 ${ms(l.latency.p99)}, max ${ms(l.latency.max)}`,
  );
  say(`  statuses ${JSON.stringify(l.statusCounts)}; non-2xx ${l.non2xx}; errors ${l.errors}`);
  if (l.groups) say(`  transactions ${num(l.groups.count)}, per transaction mean ${l.groups.mean.toFixed(1)}, max ${l.groups.max}`);
  say(`  ${cpuLine(l.cpu, l.generator)}`);
}

async function main(): Promise<number> {
  const dbUrl = await createBenchDatabase(`hub_bench_${process.pid}`, EMPLOYEES);
  const workersUrl = WORKERS > 1 ? await createBenchDatabase(`hub_bench_${process.pid}_workers`, EMPLOYEES) : undefined;
  // The hub without auth gets a database of its own: on one database each hub would also read back,
  // as nodes do, every event the other commits, and the comparison would measure that.
  const openUrl = await createBenchDatabase(`hub_bench_${process.pid}_open`, EMPLOYEES);
  if (REDIS_URL) onCleanup(async () => say(`removed ${await removeRedisKeys(REDIS_URL, REDIS_PREFIX)} Redis keys under ${REDIS_PREFIX}`));
  const db = await connect(dbUrl);
  const openDb = await connect(openUrl);
  await createRawTable(db);
  const machine = await machineLine(db);
  say(`machine: ${machine}`);
  const code = codeVersion();
  say(`code: ${code}`);
  const floor = await commitFloor(db);
  say(`floor: ${floor}`);
  say(REDIS_URL ? `the hubs run with Redis ${REDIS_URL}` : 'the hubs run without Redis (single node: the DB path is measured)');
  const redis = REDIS_URL ? { url: REDIS_URL, prefix: REDIS_PREFIX } : undefined;
  // The bench's own admin token, made by the hub at its first start; with it, a kiosk token for every site.
  const adminToken = `ahub_${randomBytes(32).toString('base64url')}`;
  const hub = await startHub({ name: 'hub', dbUrl, redis, env: { ...UNLIMITED, ADMIN_TOKEN: adminToken } });
  const kioskToken = await createToken(hub.url, adminToken, { name: 'bench kiosk', role: 'kiosk', sites: allSites() });
  // The same hub with nobody checked: the baseline that shows what authentication costs.
  const open = await startHub({ name: 'hub-open', dbUrl: openUrl, redis: redis && { ...redis, prefix: `${redis.prefix}-open` }, env: { ...UNLIMITED, AUTH_ENABLED: 'false' } });
  // The same hub with WORKERS processes behind its port, on a database of its own for the same reason.
  const workersDb = workersUrl ? await connect(workersUrl) : undefined;
  const multi = workersUrl
    ? await startHub({ name: `hub-workers-${WORKERS}`, dbUrl: workersUrl, redis: redis && { ...redis, prefix: `${redis.prefix}-workers` }, env: { ...UNLIMITED, ADMIN_TOKEN: adminToken, WORKERS: String(WORKERS) } })
    : undefined;
  const multiToken = multi && (await createToken(multi.url, adminToken, { name: 'bench kiosk', role: 'kiosk', sites: allSites() }));
  const t: Target = { db, connections: CONNECTIONS, redis: Boolean(REDIS_URL) };
  const checkins = checkinRoute(EMPLOYEES, { name: 'check-ins', hub, db, authorization: `Bearer ${kioskToken}` });
  const openCheckins = checkinRoute(EMPLOYEES, { name: 'check-ins without auth', hub: open, db: openDb });
  const multiCheckins = multi && checkinRoute(EMPLOYEES, { name: `check-ins with WORKERS=${WORKERS}`, hub: multi, db: workersDb!, authorization: `Bearer ${multiToken}` });
  const routes = [checkins, openCheckins, ...(multiCheckins ? [multiCheckins] : []), ...(flags.create ? [createRoute(EMPLOYEES, { hub, db, authorization: `Bearer ${adminToken}` })] : [])];

  const load: LoadResult[] = [];
  if (WARMUP > 0) {
    for (const route of routes) {
      const w = await runAutocannon(t, route, `warm-up (${route.name})`, WARMUP);
      load.push(w);
      say(`warm-up: ${w.created} ${route.name} (${w.non2xx} non-2xx, ${w.errors} errors), not counted in the figures`);
    }
  }
  const throughput = await runThroughput(t, routes, { dbUrl, employees: EMPLOYEES, duration: DURATION, rounds: ROUNDS, warmup: WARMUP });
  load.push(...throughput.slices);
  for (const r of throughput.routes) printLoad(r.load, r.route.name);
  const { raw, rawRate } = throughput;
  say(`raw: ${num(raw.rows)} single-row transactions in ${raw.seconds} s = ${perSec(rawRate)}; latency p50 ${ms(raw.latency.p50)}, p99 ${ms(raw.latency.p99)}, max ${ms(raw.latency.max)}`);
  say(`  ${cpuLine(raw.cpu, 'pg clients (this process)')}`);

  if (WARMUP > 0) load.push(await runAutocannon(t, checkins, 'warm-up', Math.min(WARMUP, 2), RATE));
  const fixed = await runAutocannon(t, checkins, `fixed ${RATE}/s`, DURATION, RATE);
  load.push(fixed);
  printLoad(fixed, 'check-ins', RATE);
  const paced = await runPaced(t, checkins, `paced ${RATE}/s`, DURATION, RATE);
  load.push(paced);
  printLoad(paced, 'check-ins', RATE);

  await hub.stop(); // drains: every request taken has committed or failed
  await open.stop();
  await multi?.stop();
  const main = await verify(db, routes.filter((r) => r.db === db), load, CONNECTIONS);
  const other = await verify(openDb, [openCheckins], [], CONNECTIONS);
  const workersCheck = multiCheckins ? await verify(workersDb!, [multiCheckins], [], CONNECTIONS) : { ok: true, lines: [] };
  const check = {
    ok: main.ok && other.ok && workersCheck.ok,
    lines: [...main.lines, ...other.lines.map((l) => `(without auth) ${l}`), ...workersCheck.lines.map((l) => `(WORKERS=${WORKERS}) ${l}`)],
  };

  const runs = [...throughput.routes];
  const [hubRun, openRun] = runs.splice(0, 2);
  const workersRun = multiCheckins ? runs.shift() : undefined;
  const createRun = runs.shift();
  const authCost = hubRun!.rate / openRun!.rate;
  const authByRound = hubRun!.rounds.map((r, i) => r / openRun!.rounds[i]!);
  const fixedRate = fixed.created / fixed.seconds;
  const pacedRate = paced.created / paced.seconds;
  const perTxn = (l: LoadResult) => (l.groups ? ` (mean ${l.groups.mean.toFixed(1)} per transaction)` : '');
  const byRound = (rounds: number[]) => rounds.map((r) => r.toFixed(2)).join(', ');
  console.log('');
  console.log('== ingest benchmark ==');
  console.log(
    `command:  npm run bench:ingest -- --connections ${CONNECTIONS} --duration ${DURATION} --rounds ${ROUNDS} --rate ${RATE}${flags.create ? '' : ' --no-create'}${WORKERS > 1 ? ` --workers ${WORKERS}` : ''}` +
      ` (employees ${EMPLOYEES}, ${REDIS_URL ? 'Redis' : 'no Redis'})`,
  );
  console.log(`machine:  ${machine}`);
  console.log(`code:     ${code}`);
  console.log(`floor:    ${floor}`);
  console.log(`hub:      ${perSec(hubRun!.rate)} check-ins with a kiosk token, p50 ${ms(hubRun!.load.latency.p50)}, p99 ${ms(hubRun!.load.latency.p99)} at ${CONNECTIONS} connections${perTxn(hubRun!.load)}`);
  console.log(`no auth:  ${perSec(openRun!.rate)} check-ins (AUTH_ENABLED=false), p50 ${ms(openRun!.load.latency.p50)}, p99 ${ms(openRun!.load.latency.p99)}${perTxn(openRun!.load)}`);
  if (workersRun) {
    console.log(`workers:  ${perSec(workersRun.rate)} check-ins with WORKERS=${WORKERS}, p50 ${ms(workersRun.load.latency.p50)}, p99 ${ms(workersRun.load.latency.p99)}${perTxn(workersRun.load)}`);
  }
  if (createRun) {
    console.log(`create:   ${perSec(createRun.rate)} creates (older API), p50 ${ms(createRun.load.latency.p50)}, p99 ${ms(createRun.load.latency.p99)} at ${CONNECTIONS} connections${perTxn(createRun.load)}`);
  }
  console.log(`raw:      ${perSec(rawRate)} single-row INSERT transactions, p50 ${ms(raw.latency.p50)}, p99 ${ms(raw.latency.p99)} at ${CONNECTIONS} clients`);
  console.log(`ratio:    hub/raw = ${hubRun!.ratio.toFixed(2)} (by round: ${byRound(hubRun!.rounds)})`);
  if (createRun) console.log(`          create/raw = ${createRun.ratio.toFixed(2)} (by round: ${byRound(createRun.rounds)})`);
  console.log(`          auth/no-auth = ${authCost.toFixed(2)} (by round: ${byRound(authByRound)})`);
  if (workersRun) console.log(`          WORKERS=${WORKERS}/WORKERS=1 = ${(workersRun.rate / hubRun!.rate).toFixed(2)} (by round: ${byRound(workersRun.rounds.map((r, i) => r / hubRun!.rounds[i]!))})`);
  console.log(`ceiling:  ${cpuCeiling(hubRun!.load, raw, rawRate)}`);
  console.log(`fixed:    autocannon overallRate ${RATE}/s achieved ${perSec(fixedRate)}, p50 ${ms(fixed.latency.p50)}, p99 ${ms(fixed.latency.p99)}`);
  console.log(`paced:    open loop achieved ${perSec(pacedRate)}, p50 ${ms(paced.latency.p50)}, p99 ${ms(paced.latency.p99)} (from each request's due time)`);
  for (const line of check.lines) console.log(`db:       ${line}`);
  console.log(`${verdict(hubRun!.ratio >= 1)}  ratio hub/raw ≥ 1.0 (${hubRun!.ratio.toFixed(2)})`);
  console.log(`${verdict(authCost >= AUTH_FLOOR)}  check-ins with a kiosk token within ${Math.round((1 - AUTH_FLOOR) * 100)}% of the same hub without auth (${authCost.toFixed(2)})`);
  console.log(`${verdict(fixedRate >= RATE * 0.97 && fixed.latency.p99 <= P99_TARGET_MS)}  p99 ≤ ${P99_TARGET_MS} ms at ${RATE}/s, autocannon overallRate (p99 ${ms(fixed.latency.p99)}, achieved ${perSec(fixedRate)})`);
  console.log(`${verdict(pacedRate >= RATE * 0.97 && paced.latency.p99 <= P99_TARGET_MS)}  p99 ≤ ${P99_TARGET_MS} ms at ${RATE}/s, open-loop cross-check (p99 ${ms(paced.latency.p99)})`);
  console.log(`${verdict(check.ok)}  database holds exactly the acknowledged ${routes.map((r) => r.name).join(' and ')} (plus cut-off ones), seqs gapless`);
  if (errorSamples.length) console.log(`error response samples:\n  ${errorSamples.join('\n  ')}`);
  for (const line of repeatedLines()) console.log(`log:      ${line}`);
  return check.ok ? 0 : 1;
}

run(main);
