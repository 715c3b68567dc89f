/**
 * One side of the comparison (hub or bare): warm up, measure memory without and with the sockets, then
 * (unless idle) the measured window, and count what every socket received against what it was due.
 */
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type pg from 'pg';
import { seqHead } from '../lib/database.js';
import { num, say, sleep } from '../lib/print.js';
import { cpuLine, cpuSnap, cpuUse, rssKiB } from '../lib/proc.js';
import { MsHistogram } from '../lib/stats.js';
import { emptyLoad, pacedLoad, type Counters, type LoadStats } from './load.js';
import { heapSnapshot, measureMemory, type Mem, type NodeProc } from './nodes.js';
import type { ClientReport, Kind } from './protocol.js';
import { rssLine } from './report.js';
import { closeWorkers, connectSockets, startWorkers, type ClientWorker } from './workers.js';

export type Delivery = { expected: number; delivered: number; expectedPresence: number; deliveredPresence: number; shortSockets: number; extraSockets: number };
export type NodeRss = { name: string; before: Mem; after: Mem; sockets: number; afterLoad: number };
export type PhaseResult = {
  kind: Kind;
  load: LoadStats;
  latency: MsHistogram;
  local: MsHistogram;
  remote: MsHistogram;
  delivery: Delivery;
  wireNonIncreasing: number;
  disconnects: number;
  stillConnected: number;
  clientErrors: string[];
  clientLoop: { p99: number; max: number };
  selfLoop: { p99: number; max: number };
  rss: NodeRss[];
  connect: { connected: number; failed: number; seconds: number; errors: string[] };
  cpu: string;
  drainSeconds: number;
  /** Hub with --commit-stamps: receive time − clock_timestamp() taken as the transaction commits. */
  fromCommit?: MsHistogram;
  /** Hub only: transactions that carried the window's check-ins. */
  groups?: { count: number; mean: number; max: number };
};

export type PhaseOptions = { sockets: number; workers: number; rate: number; duration: number; warmup: number; settle: number; idle: boolean; commitStamps: boolean };

type Expected = Map<string, { checkins: number; presence: number }>;

export async function runPhase(kind: Kind, nodes: NodeProc[], db: pg.Client, counters: Counters, opts: PhaseOptions): Promise<PhaseResult> {
  const label = kind;
  const selfLoop = monitorEventLoopDelay({ resolution: 10 });
  if (opts.warmup > 0) {
    say(`${label}: warm-up, ${opts.rate}/s for ${opts.warmup} s with no sockets connected`);
    await pacedLoad(kind, nodes, counters, opts.rate, opts.warmup);
  }
  // V8 shrinks its heap some 8 s after a burst of work (the memory reducer): settle past that before either reading.
  await sleep(opts.settle * 1000);
  const before = await Promise.all(nodes.map(measureMemory));
  say(`${label}: before sockets, after forced GCs: ${nodes.map((n, i) => `${n.name} VmRSS ${num(before[i]!.rss)} KiB`).join(', ')}`);
  await snapshots(nodes, 'before');

  const workers = await startWorkers(opts.workers, label);
  say(`${label}: connecting ${num(opts.sockets)} sockets (websocket only, each subscribed to one site) from ${workers.length} worker processes`);
  const connect = await connectSockets(workers, kind, nodes, opts.sockets);
  say(`${label}: ${num(connect.connected)} connected and subscribed in ${connect.seconds.toFixed(1)} s, ${connect.failed} failed${connect.errors.length ? `: ${connect.errors.join('; ')}` : ''}`);
  await sleep(opts.settle * 1000);
  const after = await Promise.all(nodes.map(measureMemory));
  await snapshots(nodes, 'after');
  const perNode = nodes.map((_, i) => Math.floor(opts.sockets / nodes.length) + (i < opts.sockets % nodes.length ? 1 : 0));
  const rss = nodes.map((n, i): NodeRss => ({ name: n.name, before: before[i]!, after: after[i]!, sockets: perNode[i]!, afterLoad: NaN }));
  for (const r of rss) say(`${label}: RSS ${rssLine(r)} (${opts.settle} s settling, then forced GCs until RSS held still: ${r.before.rounds}/${r.after.rounds} rounds)`);

  const result: PhaseResult = {
    kind,
    load: emptyLoad(),
    latency: new MsHistogram(),
    local: new MsHistogram(),
    remote: new MsHistogram(),
    delivery: { expected: 0, delivered: 0, expectedPresence: 0, deliveredPresence: 0, shortSockets: 0, extraSockets: 0 },
    wireNonIncreasing: 0,
    disconnects: 0,
    stillConnected: 0,
    clientErrors: [],
    clientLoop: { p99: NaN, max: NaN },
    selfLoop: { p99: NaN, max: NaN },
    rss,
    connect,
    cpu: '',
    drainSeconds: 0,
  };
  if (opts.idle) {
    const reports = await Promise.all(workers.map((w) => w.call<{ report: ClientReport }>({ op: 'report' })));
    result.stillConnected = reports.reduce((s, r) => s + r.report.connected, 0);
    say(`${label}: client workers' RSS ${reports.map((r) => `${num(r.report.rssKiB)} KiB`).join(', ')}; still connected ${num(result.stillConnected)}`);
    await closeWorkers(workers);
    return result;
  }

  if (opts.warmup > 0) {
    say(`${label}: warm-up with sockets, ${opts.rate}/s for ${opts.warmup} s (not counted)`);
    await pacedLoad(kind, nodes, counters, opts.rate, opts.warmup);
    await sleep(2000);
  }
  const fromSeq = kind === 'hub' ? await seqHead(db) : 2 * counters.nextN;
  const keepSamples = kind === 'hub' && opts.commitStamps;
  await Promise.all(workers.map((w) => w.call({ op: 'start', fromSeq, keepSamples })));
  const procs: Array<[string, number]> = [...nodes.map((n): [string, number] => [n.name, n.pid]), ...workers.map((w): [string, number] => [w.name, w.pid])];
  say(`${label}: measuring: ${opts.rate}/s for ${opts.duration} s over ${nodes.length} node(s), events after seq ${fromSeq}`);
  selfLoop.enable();
  const cpuBefore = cpuSnap(procs, { redis: true });
  result.load = await pacedLoad(kind, nodes, counters, opts.rate, opts.duration);
  const cpuAfter = cpuSnap(procs, { redis: true });
  selfLoop.disable();
  result.cpu = cpuLine(cpuUse(cpuBefore, cpuAfter), 'load generator');
  result.selfLoop = { p99: selfLoop.percentile(99) / 1e6, max: selfLoop.max / 1e6 };

  const expected = kind === 'hub' ? await hubExpected(db, fromSeq, result) : await bareExpected(nodes, fromSeq);

  // Wait for the fan-out to finish: until every expected event is in, or nothing moves for 5 s.
  const drainStart = performance.now();
  let reports: ClientReport[] = [];
  let lastTotal = -1;
  let lastMove = performance.now();
  for (;;) {
    reports = (await Promise.all(workers.map((w) => w.call<{ report: ClientReport }>({ op: 'report' })))).map((r) => r.report);
    result.delivery = tally(reports, expected);
    const total = result.delivery.delivered + result.delivery.deliveredPresence;
    if (total >= result.delivery.expected + result.delivery.expectedPresence) break;
    if (total !== lastTotal) {
      lastTotal = total;
      lastMove = performance.now();
    } else if (performance.now() - lastMove > 5000 || performance.now() - drainStart > 60_000) break;
    await sleep(250);
  }
  result.drainSeconds = (performance.now() - drainStart) / 1000;
  for (const r of reports) {
    result.local.merge(r.latencyLocal);
    result.remote.merge(r.latencyRemote);
    result.latency.merge(r.latencyLocal);
    result.latency.merge(r.latencyRemote);
  }
  result.wireNonIncreasing = reports.reduce((s, r) => s + r.wireNonIncreasing, 0);
  result.disconnects = reports.reduce((s, r) => s + r.disconnects, 0);
  result.stillConnected = reports.reduce((s, r) => s + r.connected, 0);
  result.clientErrors = reports.flatMap((r) => r.errors).slice(0, 5);
  result.clientLoop = { p99: Math.max(...reports.map((r) => r.loopDelayMs.p99)), max: Math.max(...reports.map((r) => r.loopDelayMs.max)) };
  for (const [i, n] of nodes.entries()) rss[i]!.afterLoad = rssKiB(n.pid);
  if (keepSamples) result.fromCommit = await fromCommit(db, fromSeq, workers);
  await closeWorkers(workers);
  return result;
}

/** BENCH_HEAP_SNAPSHOTS=<dir>: each node's heap, before and after its sockets connect (see heapSnapshot). */
async function snapshots(nodes: NodeProc[], when: 'before' | 'after'): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  for (const n of nodes) await heapSnapshot(n, path.resolve(dir, `${n.name}-${when}.heapsnapshot`));
}

/** What each socket of the hub is entitled to: the committed events for its site, from PostgreSQL. Also the group sizes. */
async function hubExpected(db: pg.Client, fromSeq: number, result: PhaseResult): Promise<Expected> {
  const expected: Expected = new Map();
  const toSeq = await seqHead(db);
  const { rows } = await db.query(`SELECT kind, site_id, count(*)::int AS n FROM events WHERE seq > $1 AND seq <= $2 GROUP BY kind, site_id`, [fromSeq, toSeq]);
  for (const r of rows as Array<{ kind: string; site_id: string; n: number }>) {
    const e = expected.get(r.site_id) ?? { checkins: 0, presence: 0 };
    if (r.kind === 'checkin.recorded') e.checkins += r.n;
    else if (r.kind === 'presence.changed') e.presence += r.n;
    expected.set(r.site_id, e);
  }
  const committed = [...expected.values()].reduce((s, e) => s + e.checkins, 0);
  // The events of one transaction share its now() (events.created_at): group-commit sizes.
  const g = (
    await db.query(
      `SELECT count(*)::int AS n, coalesce(max(c), 0)::int AS max FROM
         (SELECT created_at, count(*) FILTER (WHERE kind = 'checkin.recorded') AS c FROM events WHERE seq > $1 AND seq <= $2 GROUP BY created_at) t`,
      [fromSeq, toSeq],
    )
  ).rows[0] as { n: number; max: number };
  result.groups = { count: g.n, mean: g.n ? committed / g.n : 0, max: g.max };
  if (committed !== result.load.created) say(`hub: WARNING ${committed} checkin.recorded events committed but ${result.load.created} 201s read`);
  return expected;
}

/**
 * Every broadcast the bare nodes made, answered in time or not: one checkin.recorded and one
 * presence.changed each. Requests the load generator gave up on may still be in a node's queue: wait
 * until the counts hold still.
 */
async function bareExpected(nodes: NodeProc[], fromSeq: number): Promise<Expected> {
  const expected: Expected = new Map();
  const count = async () => (await Promise.all(nodes.map((n) => n.emitted!(fromSeq / 2)))).reduce((s, m) => s + Object.values(m).reduce((a, b) => a + b, 0), 0);
  for (let prev = -1, now = await count(); now !== prev; ) {
    await sleep(1000);
    [prev, now] = [now, await count()];
  }
  for (const node of nodes) {
    for (const [site, n] of Object.entries(await node.emitted!(fromSeq / 2))) {
      const e = expected.get(site) ?? { checkins: 0, presence: 0 };
      expected.set(site, { checkins: e.checkins + n, presence: e.presence + n });
    }
  }
  return expected;
}

/** --commit-stamps: each worker matches its kept deliveries to the commit stamps. */
async function fromCommit(db: pg.Client, fromSeq: number, workers: ClientWorker[]): Promise<MsHistogram> {
  const { rows } = await db.query(
    `SELECT b.seq::int AS seq, extract(epoch FROM b.at) * 1000 AS ms FROM bench_commit b JOIN events e USING (seq)
      WHERE b.seq > $1 AND e.kind = 'checkin.recorded'`,
    [fromSeq],
  );
  const stamps = (rows as Array<{ seq: number; ms: string }>).map((r): [number, number] => [r.seq, Number(r.ms)]);
  const h = new MsHistogram();
  for (const w of workers) {
    const answer = await w.call<{ latency: Array<[number, number]>; unmatched: number }>({ op: 'fromCommit', stamps });
    h.merge(answer.latency);
    if (answer.unmatched) say(`hub: ${answer.unmatched} deliveries without a commit stamp`);
  }
  return h;
}

function tally(reports: ClientReport[], expected: Expected): Delivery {
  const d: Delivery = { expected: 0, delivered: 0, expectedPresence: 0, deliveredPresence: 0, shortSockets: 0, extraSockets: 0 };
  for (const r of reports) {
    for (const [site, t] of Object.entries(r.perSite)) {
      const e = expected.get(site) ?? { checkins: 0, presence: 0 };
      d.expected += e.checkins * t.sockets;
      d.expectedPresence += e.presence * t.sockets;
      d.delivered += t.checkins;
      d.deliveredPresence += t.presence;
      if (t.minCheckins < e.checkins || t.minPresence < e.presence) d.shortSockets++;
      if (t.maxCheckins > e.checkins || t.maxPresence > e.presence) d.extraSockets++;
    }
  }
  return d;
}
