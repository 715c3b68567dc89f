/**
 * Broadcast benchmark (`npm run bench:broadcast`): committed check-ins fanned out to live dashboards,
 * against plain Socket.IO doing the same fan-out, in one run. This is the driver; it starts the
 * servers (hub nodes, or bare.ts) and the dashboard workers (dashboards.ts) as child processes.
 *
 *   default  two hub nodes (Redis adapter), 1,000 dashboard sockets spread over them, each subscribed
 *            to one of 10 sites; check-ins POSTed at 500/s for 30 s over both nodes → commit→receive
 *            latency p50/p95/p99, delivered/expected, RSS per connected socket.
 *            Baseline: two bare Socket.IO nodes (same Redis adapter, same Redis, no hub) that broadcast
 *            the same events per check-in to the same sockets at the same rate.
 *   --idle   one hub node holding 10,000 idle subscribed sockets → RSS per socket; baseline: one bare
 *            Socket.IO node holding the same sockets.
 *
 * Exit 1 only when the run is invalid (errors, failed connections) or a dashboard missed an event;
 * missed performance targets are printed, not thrown.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { repeatedLines } from '../lib/child.js';
import { allSites, connect, createBenchDatabase, SITES } from '../lib/database.js';
import { codeVersion, machineLine } from '../lib/machine.js';
import { num, positive, ratio, say, verdict } from '../lib/print.js';
import { removeRedisKeys } from '../lib/redis.js';
import { onCleanup, run } from '../lib/run.js';
import type { Counters } from './load.js';
import { createHubTokens, startBareNode, startHubNode, type NodeProc } from './nodes.js';
import { runPhase, type Delivery, type PhaseOptions } from './phase.js';
import { lat, memLine, ms, printPhase, rssLine, rssPerSocket } from './report.js';

const { values: flags } = parseArgs({
  options: {
    sockets: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    idle: { type: 'boolean', default: false },
    'idle-sockets': { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1' },
    'client-workers': { type: 'string', default: '2' },
    employees: { type: 'string', default: '2000' },
    settle: { type: 'string', default: '10' },
    'commit-stamps': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench:broadcast -- [--sockets 1000] [--rate 500] [--duration 30] [--warmup 3] [--workers 1] [--client-workers 2] [--employees 2000] [--settle 10]
npm run bench:broadcast -- --idle [--idle-sockets 10000] [--client-workers 2]
--workers N       also run the hub nodes with WORKERS=N, after the WORKERS=1 phase: the two compared in one run
--client-workers  processes holding the dashboards' sockets
--commit-stamps  diagnostic: also measure from each transaction's commit (a deferred trigger in the bench database stamps it;
                 the hub's own recordedAt is taken before the group's writes)
DATABASE_URL  admin connection (default postgres://postgres@127.0.0.1:5432/postgres); a database hub_bcast_<pid> is created and dropped
REDIS_URL     the Redis both the hub and the bare baseline use (default redis://127.0.0.1:6379); keys under bench-<pid> are removed after`);
  process.exit(0);
}

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const P99_TARGET_MS = 50;
const RSS_TARGET_KIB = 25;
const RSS_RATIO_TARGET = 1.1;

async function main(): Promise<number> {
  const idle = flags.idle;
  const SOCKETS = Math.round(positive(idle ? 'idle-sockets' : 'sockets', idle ? flags['idle-sockets'] : flags.sockets));
  const RATE = positive('rate', flags.rate);
  const DURATION = positive('duration', flags.duration);
  const WORKERS = Math.round(positive('workers', flags.workers));
  const CLIENT_WORKERS = Math.round(positive('client-workers', flags['client-workers']));
  const EMPLOYEES = Math.round(positive('employees', flags.employees));
  const NODES = idle ? 1 : 2;
  const prefix = `bench-${process.pid}`;

  const dbUrl = await createBenchDatabase(`hub_bcast_${process.pid}`, EMPLOYEES);
  onCleanup(async () => say(`removed ${await removeRedisKeys(REDIS_URL, prefix)} Redis keys under ${prefix}`));
  const db = await connect(dbUrl);
  if (flags['commit-stamps']) {
    // Diagnostic, in the bench database only: a deferred constraint trigger runs at COMMIT, so it stamps
    // when each transaction commits (recordedAt is taken before its writes). It adds one insert per event to the hub's work.
    await db.query('CREATE TABLE bench_commit (seq bigint PRIMARY KEY, at timestamptz NOT NULL)');
    await db.query(
      `CREATE FUNCTION bench_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO bench_commit VALUES (NEW.seq, clock_timestamp()); RETURN NULL; END $$`,
    );
    await db.query('CREATE CONSTRAINT TRIGGER bench_stamp AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_stamp()');
  }
  const machine = `${await machineLine(db)}, Redis at ${REDIS_URL}; code ${codeVersion()}`;
  say(`machine: ${machine}`);

  const counters: Counters = { employees: EMPLOYEES, nextEmployee: 0, nextN: 0 };
  const opts: PhaseOptions = {
    sockets: SOCKETS,
    workers: CLIENT_WORKERS,
    rate: RATE,
    duration: DURATION,
    warmup: Number(flags.warmup) || 0,
    settle: Number(flags.settle) || 0,
    idle,
    commitStamps: flags['commit-stamps'],
  };

  // Baseline first, then the hub; each on its own processes, stopped before the next starts.
  say(`== baseline: bare Socket.IO, ${NODES} process(es), Redis adapter ==`);
  const bareNodes: NodeProc[] = [];
  for (let i = 0; i < NODES; i++) bareNodes.push(await startBareNode(`bare-${'ab'[i]}`, REDIS_URL, `${prefix}-bare`));
  const bare = await runPhase('bare', bareNodes, db, counters, opts);
  if (!idle) printPhase(bare, RATE);
  for (const n of bareNodes) await n.stop();

  say(`== hub: ${NODES} node(s), Redis adapter ==`);
  const hubNodes: NodeProc[] = [];
  // The first node's first start makes ADMIN_TOKEN the admin's; dashboards and the load get tokens of their roles.
  const adminToken = `ahub_${randomBytes(32).toString('base64url')}`;
  for (let i = 0; i < NODES; i++) hubNodes.push(await startHubNode(`hub-${'ab'[i]}`, dbUrl, { url: REDIS_URL, prefix }, adminToken));
  const tokens = await createHubTokens(hubNodes[0]!.url, adminToken, allSites());
  for (const node of hubNodes) node.tokens = tokens;
  const hub = await runPhase('hub', hubNodes, db, counters, opts);
  if (!idle) printPhase(hub, RATE);
  for (const n of hubNodes) await n.stop();

  // The same nodes with WORKERS processes each, on the same database and tokens.
  let multi: Awaited<ReturnType<typeof runPhase>> | undefined;
  if (WORKERS > 1 && !idle) {
    say(`== hub: ${NODES} node(s) with WORKERS=${WORKERS}, Redis adapter ==`);
    const nodes: NodeProc[] = [];
    for (let i = 0; i < NODES; i++) nodes.push(await startHubNode(`hub-w${WORKERS}-${'ab'[i]}`, dbUrl, { url: REDIS_URL, prefix }, adminToken, WORKERS));
    for (const node of nodes) node.tokens = tokens;
    multi = await runPhase('hub', nodes, db, counters, opts);
    printPhase(multi, RATE);
    for (const n of nodes) await n.stop();
  }

  const hubKiB = rssPerSocket(hub.rss);
  const bareKiB = rssPerSocket(bare.rss);
  const memNote = `memory:   ΔVmRSS ÷ sockets, both readings after forced full GCs; a node's VmRSS also moves by itself (V8 heap sizing, allocator), by tens of MB, so below thousands of sockets per node the figure is noise`;
  const connectOk = hub.connect.failed === 0 && bare.connect.failed === 0;
  console.log('');
  if (idle) {
    console.log('== broadcast benchmark: idle sockets ==');
    console.log(`command:  npm run bench:broadcast -- --idle --idle-sockets ${SOCKETS} --client-workers ${CLIENT_WORKERS} (1 node, Redis adapter, each socket subscribed to one of ${SITES} sites)`);
    console.log(`machine:  ${machine}`);
    console.log(`hub:      ${hub.rss.map(rssLine).join('; ')}; connected+subscribed in ${hub.connect.seconds.toFixed(1)} s, ${hub.connect.failed} failed, ${num(hub.stillConnected)} still connected`);
    console.log(`bare:     ${bare.rss.map(rssLine).join('; ')}; connected+subscribed in ${bare.connect.seconds.toFixed(1)} s, ${bare.connect.failed} failed, ${num(bare.stillConnected)} still connected`);
    console.log(`per socket: hub ${memLine(hub)}, bare ${memLine(bare)}`);
    console.log(`ratio:    RSS per socket hub/bare = ${ratio(hubKiB, bareKiB)} (V8 heap in use ${ratio(rssPerSocket(hub.rss, 'heapUsed'), rssPerSocket(bare.rss, 'heapUsed'))})`);
    console.log(memNote);
    console.log(`${verdict(hubKiB <= RSS_TARGET_KIB)}  ≤ ${RSS_TARGET_KIB} KiB RSS per idle socket on the hub (${hubKiB.toFixed(1)} KiB; bare Socket.IO ${bareKiB.toFixed(1)} KiB)`);
    console.log(`${verdict(hubKiB <= RSS_RATIO_TARGET * bareKiB)}  hub within ${RSS_RATIO_TARGET}× of bare Socket.IO per idle socket (${ratio(hubKiB, bareKiB)}; V8's young-generation sizing moves either side by about 3 KiB a socket, so read several runs)`);
    console.log(`${verdict(connectOk)}  every socket connected and subscribed`);
    for (const line of repeatedLines()) console.log(`log:      ${line}`);
    return connectOk ? 0 : 1;
  }

  const h = hub.latency;
  const b = bare.latency;
  const pct = (d: Delivery) => (d.expected ? (100 * d.delivered) / d.expected : NaN);
  const hubDelivered = hub.delivery.delivered === hub.delivery.expected && hub.delivery.deliveredPresence === hub.delivery.expectedPresence && hub.delivery.expected > 0;
  const inOrder = hub.wireNonIncreasing === 0 && hub.delivery.extraSockets === 0;
  const achieved = hub.load.created / hub.load.seconds;
  const clean = hub.load.errors === 0 && hub.load.created === hub.load.sent;
  console.log('== broadcast benchmark ==');
  console.log(`command:  npm run bench:broadcast -- --sockets ${SOCKETS} --rate ${RATE} --duration ${DURATION} --workers ${WORKERS} --client-workers ${CLIENT_WORKERS} (2 nodes, ${SITES} sites, ${num(EMPLOYEES)} employees, Redis adapter)`);
  console.log(`machine:  ${machine}`);
  console.log(`hub:      commit→receive ${lat(h)} (${num(h.count)} deliveries); ${Math.round(achieved)} check-ins/s`);
  console.log(`bare:     emit→receive   ${lat(b)} (${num(b.count)} deliveries); ${Math.round(bare.load.created / bare.load.seconds)} broadcasts/s`);
  if (multi) {
    const m = multi.latency;
    const mAchieved = multi.load.created / multi.load.seconds;
    console.log(`workers:  hub with WORKERS=${WORKERS} commit→receive ${lat(m)} (${num(m.count)} deliveries); ${Math.round(mAchieved)} check-ins/s; against WORKERS=1 p50 ${ratio(m.percentile(0.5), h.percentile(0.5))}, p99 ${ratio(m.percentile(0.99), h.percentile(0.99))}`);
    console.log(`          delivered ${num(multi.delivery.delivered)}/${num(multi.delivery.expected)}, non-increasing seqs on the wire ${multi.wireNonIncreasing}, disconnects ${multi.disconnects}; cpu ${multi.cpu}`);
  }
  console.log(`split:    hub same node ${lat(hub.local)}; other node ${lat(hub.remote)}`);
  console.log(`          bare same node ${lat(bare.local)}; other node ${lat(bare.remote)}`);
  if (hub.load.toTx.count) console.log(`hub http: request due → recordedAt ${lat(hub.load.toTx)}; recordedAt → 201 read ${lat(hub.load.txTo201)}`);
  if (hub.fromCommit) console.log(`hub commit: --commit-stamps (a deferred trigger stamps clock_timestamp() as each transaction commits): commit → receive ${lat(hub.fromCommit)}`);
  if (hub.groups) console.log(`hub tx:   ${num(hub.groups.count)} transactions, ${hub.groups.mean.toFixed(1)} check-ins per transaction (max ${hub.groups.max})`);
  console.log(`ratio:    hub/bare p50 ${ratio(h.percentile(0.5), b.percentile(0.5))}, p95 ${ratio(h.percentile(0.95), b.percentile(0.95))}, p99 ${ratio(h.percentile(0.99), b.percentile(0.99))}, mean ${ratio(h.mean, b.mean)}`);
  console.log(`delivery: hub checkin.recorded ${num(hub.delivery.delivered)}/${num(hub.delivery.expected)} (${pct(hub.delivery).toFixed(3)}%), presence.changed ${num(hub.delivery.deliveredPresence)}/${num(hub.delivery.expectedPresence)}, non-increasing seqs on the wire ${hub.wireNonIncreasing}, disconnects ${hub.disconnects}`);
  console.log(`          bare ${num(bare.delivery.delivered)}/${num(bare.delivery.expected)} (${pct(bare.delivery).toFixed(3)}%), presence ${num(bare.delivery.deliveredPresence)}/${num(bare.delivery.expectedPresence)} (plain Socket.IO: at most once, no order across nodes: ${num(bare.wireNonIncreasing)} out of order)`);
  console.log(`rss:      hub ${hub.rss.map(rssLine).join('; ')}`);
  console.log(`          bare ${bare.rss.map(rssLine).join('; ')}`);
  console.log(`          per connected socket hub ${memLine(hub)}, bare ${memLine(bare)}; ratio ${ratio(hubKiB, bareKiB)}`);
  console.log(memNote);
  console.log(`clients:  event-loop delay p99/max hub phase ${hub.clientLoop.p99.toFixed(1)}/${hub.clientLoop.max.toFixed(1)} ms, bare phase ${bare.clientLoop.p99.toFixed(1)}/${bare.clientLoop.max.toFixed(1)} ms`);
  console.log(`cpu hub:  ${hub.cpu}`);
  console.log(`cpu bare: ${bare.cpu}`);
  console.log(`note:     recordedAt is PostgreSQL's clock once the check-in's group holds the seq lock, so the hub's figure includes the group's writes and commit; both stamps are whole ms`);
  console.log(`${verdict(h.percentile(0.99) <= P99_TARGET_MS && achieved >= RATE * 0.97)}  p99 ≤ ${P99_TARGET_MS} ms commit→receive at ${RATE}/s (p99 ${ms(h.percentile(0.99))}, achieved ${Math.round(achieved)}/s)`);
  console.log(`${verdict(hubDelivered && inOrder)}  100% delivered, each socket in seq order with no duplicate (${pct(hub.delivery).toFixed(3)}%)`);
  // Below a few thousand sockets a node's RSS moves more on its own (allocator, V8 heap sizing) than the sockets move it.
  const fewest = Math.min(...hub.rss.map((r) => r.sockets));
  if (fewest >= 2000) console.log(`${verdict(hubKiB <= RSS_TARGET_KIB)}  ≤ ${RSS_TARGET_KIB} KiB RSS per connected socket on the hub (${hubKiB.toFixed(1)} KiB)`);
  else
    console.log(
      `INFO  RSS per connected socket on the hub ${hubKiB.toFixed(1)} KiB: indicative only with ${num(fewest)} sockets per node ` +
        `(V8 heap in use ${rssPerSocket(hub.rss, 'heapUsed').toFixed(1)} KiB/socket); --idle measures the ≤ ${RSS_TARGET_KIB} KiB target with 10,000`,
    );
  console.log(`${verdict(clean && connectOk)}  run valid: every hub check-in answered 201, every socket (hub and bare) connected`);
  for (const side of [hub, bare]) {
    const rate = side.load.created / side.load.seconds;
    if (rate < RATE * 0.97 || side.load.errors)
      console.log(`WARNING  ${side.kind} took only ${Math.round(rate)}/s of the ${RATE}/s offered (${side.load.errors} requests timed out or failed): it was saturated, and its latency includes queueing`);
  }
  for (const line of repeatedLines()) console.log(`log:      ${line}`);
  return clean && connectOk && hubDelivered && inOrder ? 0 : 1;
}

run(main);
