/**
 * A dashboard worker (a child of main.ts): holds its share of the sockets, counts what each receives
 * and reports latency histograms over IPC, so the figures measure the servers rather than the
 * driver's event loop (this process's own event-loop delay is reported too).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { io as ioClient } from 'socket.io-client';
import { createDashboardClient, type HubSocket } from '../../shared/client.js';
import type { LiveEvent } from '../../shared/events.js';
import { rssKiB } from '../lib/proc.js';
import { MsHistogram } from '../lib/stats.js';
import { deviceOf, type ClientReport, type Kind, type SiteTally, type SocketSpec, type ToWorker } from './protocol.js';

type Conn = { site: string; device: string; checkins: number; presence: number; lastWire: number; close(): void; connected(): boolean };
const conns: Conn[] = [];
const local = new MsHistogram();
const remote = new MsHistogram();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let fromSeq = Number.POSITIVE_INFINITY; // nothing counts until `start`
let wireNonIncreasing = 0;
let disconnects = 0;
const errors: string[] = [];
const note = (msg: string) => void (errors.length < 5 && errors.push(msg));

// With --commit-stamps: every checkin.recorded delivery as (seq, receive time), matched to commit stamps at the end.
let samples: { seq: Int32Array; at: Float64Array; n: number } | null = null;
function keep(seq: number, at: number): void {
  if (!samples) return;
  if (samples.n === samples.seq.length) {
    const seqs = new Int32Array(samples.n * 2);
    seqs.set(samples.seq);
    const ats = new Float64Array(samples.n * 2);
    ats.set(samples.at);
    samples = { seq: seqs, at: ats, n: samples.n };
  }
  samples.seq[samples.n] = seq;
  samples.at[samples.n++] = at;
}

type Of<N extends LiveEvent['name']> = Extract<LiveEvent, { name: N }>;

function onCheckin(c: Conn, e: Of<'checkin.recorded'>): void {
  const p = e.payload;
  if (e.seq <= fromSeq) return;
  c.checkins++;
  keep(e.seq, Date.now());
  // recordedAt: the hub's PostgreSQL clock once the check-in's group holds the seq lock, before its
  // writes and commit (bare: the emit); whole ms.
  (p.deviceId === c.device ? local : remote).add(Date.now() - Date.parse(p.recordedAt));
}

function onPresence(c: Conn, e: Of<'presence.changed'>): void {
  if (e.seq > fromSeq) c.presence++;
}

/** Every event as it comes off the wire, before the client library drops repeats. */
function watch(socket: HubSocket, c: Conn): void {
  socket.on('events', (batch) => {
    for (const e of batch) {
      if (e.seq > c.lastWire) c.lastWire = e.seq;
      else if (e.seq > fromSeq) wireNonIncreasing++;
    }
  });
  socket.on('disconnect', () => disconnects++);
  socket.on('connect_error', (err) => note(`connect_error: ${err.message}`));
}

/** The hub's sockets go through the client library dashboards use; the baseline's through plain socket.io-client. */
function open(kind: Kind, spec: SocketSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const c: Conn = { site: spec.site, device: deviceOf(spec.node), checkins: 0, presence: 0, lastWire: 0, close: () => {}, connected: () => false };
    let done = false;
    const timer = setTimeout(() => finish(new Error(`not subscribed within 60 s (${spec.url})`)), 60_000);
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const settings = { transports: ['websocket'], forceNew: true };
    if (kind === 'hub') {
      const client = createDashboardClient({
        url: spec.url,
        token: spec.token,
        sites: [spec.site],
        socket: settings,
        onEvent: (e) => (e.name === 'checkin.recorded' ? onCheckin(c, e) : e.name === 'presence.changed' ? onPresence(c, e) : undefined),
        onSubscribed: () => finish(),
        onError: (e) => note(`subscribe: ${e.code} ${e.message}`),
      });
      watch(client.socket, c);
      c.close = () => client.close();
      c.connected = () => client.socket.connected;
    } else {
      const socket: HubSocket = ioClient(spec.url, settings);
      socket.on('connect', () => socket.emit('subscribe', { sites: [spec.site] }, (ack) => (ack.ok ? finish() : note(`subscribe: ${ack.error.code}`))));
      socket.on('events', (batch) => {
        for (const e of batch) {
          if (e.name === 'checkin.recorded') onCheckin(c, e);
          else if (e.name === 'presence.changed') onPresence(c, e);
        }
      });
      watch(socket, c);
      c.close = () => void socket.close();
      c.connected = () => socket.connected;
    }
    conns.push(c);
  });
}

async function connectAll(specs: SocketSpec[], kind: Kind, concurrency: number): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, specs.length) }, async () => {
      while (next < specs.length) {
        await open(kind, specs[next++]!).catch((err: Error) => {
          failed++;
          note(err.message);
        });
      }
    }),
  );
  return failed;
}

function report(): ClientReport {
  const perSite: Record<string, SiteTally> = {};
  for (const c of conns) {
    const t = (perSite[c.site] ??= { sockets: 0, minCheckins: Infinity, maxCheckins: 0, checkins: 0, minPresence: Infinity, maxPresence: 0, presence: 0 });
    t.sockets++;
    t.checkins += c.checkins;
    t.presence += c.presence;
    t.minCheckins = Math.min(t.minCheckins, c.checkins);
    t.maxCheckins = Math.max(t.maxCheckins, c.checkins);
    t.minPresence = Math.min(t.minPresence, c.presence);
    t.maxPresence = Math.max(t.maxPresence, c.presence);
  }
  return {
    sockets: conns.length,
    connected: conns.filter((c) => c.connected()).length,
    perSite,
    latencyLocal: local.entries(),
    latencyRemote: remote.entries(),
    wireNonIncreasing,
    disconnects,
    errors,
    loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    rssKiB: rssKiB(process.pid),
  };
}

/** Receive time − commit stamp, for each kept delivery whose seq has one. */
function fromCommit(stamps: Array<[number, number]>): { latency: Array<[number, number]>; unmatched: number } {
  const stamp = new Map(stamps);
  const h = new MsHistogram();
  let unmatched = 0;
  for (let i = 0; i < (samples?.n ?? 0); i++) {
    const at = stamp.get(samples!.seq[i]!);
    if (at === undefined) unmatched++;
    else h.add(samples!.at[i]! - at);
  }
  return { latency: h.entries(), unmatched };
}

const reply = (msg: object) => process.send!(msg);
process.on('message', (raw) => {
  const msg = raw as ToWorker;
  void (async () => {
    if (msg.op === 'connect') {
      const t0 = performance.now();
      const failed = await connectAll(msg.sockets, msg.kind, msg.concurrency);
      reply({ id: msg.id, connected: msg.sockets.length - failed, failed, ms: performance.now() - t0, errors });
    } else if (msg.op === 'start') {
      fromSeq = msg.fromSeq;
      samples = msg.keepSamples ? { seq: new Int32Array(1 << 16), at: new Float64Array(1 << 16), n: 0 } : null;
      for (const c of conns) c.checkins = c.presence = 0;
      local.reset();
      remote.reset();
      wireNonIncreasing = 0;
      disconnects = 0;
      loop.reset();
      reply({ id: msg.id });
    } else if (msg.op === 'fromCommit') {
      reply({ id: msg.id, ...fromCommit(msg.stamps) });
    } else if (msg.op === 'report') {
      reply({ id: msg.id, report: report() });
    } else if (msg.op === 'close') {
      for (const c of conns) c.close();
      reply({ id: msg.id });
      setTimeout(() => process.exit(0), 200);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
reply({ ready: true });
