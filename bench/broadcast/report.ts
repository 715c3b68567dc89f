/** How the broadcast bench prints latency, memory and a phase. */
import { ms as msDigits, num, say } from '../lib/print.js';
import type { MsHistogram } from '../lib/stats.js';
import type { Mem } from './nodes.js';
import type { NodeRss, PhaseResult } from './phase.js';

/** Both clocks are whole milliseconds. */
export const ms = (v: number) => msDigits(v, 0);

export const lat = (x: MsHistogram) => `p50 ${ms(x.percentile(0.5))}, p95 ${ms(x.percentile(0.95))}, p99 ${ms(x.percentile(0.99))}, max ${ms(x.max)}, mean ${x.mean.toFixed(2)} ms`;

const per = (r: NodeRss, k: keyof Mem) => ((r.after[k] - r.before[k]) / r.sockets).toFixed(1);

export const rssLine = (r: NodeRss) =>
  `${r.name} VmRSS ${num(r.before.rss)} → ${num(r.after.rss)} KiB with ${num(r.sockets)} sockets = ${per(r, 'rss')} KiB/socket: ` +
  `V8 heap in use ${per(r, 'heapUsed')}, V8 heap free ${per(r, 'heapFree')}, outside the V8 heap ${per(r, 'outside')} (before the forced GCs ${per(r, 'settled')})`;

/** Both readings after forced GCs: what holding the sockets retains, not garbage awaiting collection. */
export const rssPerSocket = (rss: NodeRss[], k: keyof Mem = 'rss') => rss.reduce((s, r) => s + r.after[k] - r.before[k], 0) / rss.reduce((s, r) => s + r.sockets, 0);

export const memLine = (side: PhaseResult) =>
  `${rssPerSocket(side.rss).toFixed(1)} KiB (V8 heap in use ${rssPerSocket(side.rss, 'heapUsed').toFixed(1)}, ` +
  `V8 heap free ${rssPerSocket(side.rss, 'heapFree').toFixed(1)}, outside it ${rssPerSocket(side.rss, 'outside').toFixed(1)})`;

export function printPhase(r: PhaseResult, target: number): void {
  const l = r.load;
  const label = r.kind;
  say(
    `${label}: load ${num(l.created)} × 201 of ${num(l.sent)} sent in ${l.seconds.toFixed(2)} s = ${Math.round(l.created / l.seconds)}/s (target ${target}/s); ` +
      `HTTP p50 ${ms(l.http.percentile(0.5))}, p99 ${ms(l.http.percentile(0.99))}; statuses ${JSON.stringify(l.statuses)}, errors ${l.errors}`,
  );
  const h = r.latency;
  say(`${label}: receive latency ${lat(h)} over ${num(h.count)} deliveries`);
  say(`${label}:   sockets on the node that took the check-in ${lat(r.local)}; on the other node (via Redis) ${lat(r.remote)}`);
  if (r.fromCommit) say(`${label}:   --commit-stamps: commit (deferred trigger, just before the commit record) → receive ${lat(r.fromCommit)}`);
  if (r.groups) say(`${label}:   ${num(r.groups.count)} transactions, ${r.groups.mean.toFixed(1)} check-ins per transaction (max ${r.groups.max}), each fanned out as one burst`);
  if (l.toTx.count) say(`${label}:   HTTP side: request due → recordedAt (seq lock taken) ${lat(l.toTx)}; recordedAt → 201 read ${lat(l.txTo201)}`);
  const d = r.delivery;
  say(
    `${label}: checkin.recorded delivered ${num(d.delivered)}/${num(d.expected)}, presence.changed ${num(d.deliveredPresence)}/${num(d.expectedPresence)}; ` +
      `site-groups with a socket short ${d.shortSockets}, over ${d.extraSockets}; non-increasing seqs on the wire ${num(r.wireNonIncreasing)}; ` +
      `disconnects ${r.disconnects}; still connected ${num(r.stillConnected)}; fan-out finished ${r.drainSeconds.toFixed(1)} s after the last 201`,
  );
  say(`${label}: event-loop delay p99/max: client workers ${r.clientLoop.p99.toFixed(1)}/${r.clientLoop.max.toFixed(1)} ms, load generator ${r.selfLoop.p99.toFixed(1)}/${r.selfLoop.max.toFixed(1)} ms`);
  say(`${label}: RSS after the load: ${r.rss.map((x) => `${x.name} ${num(x.afterLoad)} KiB`).join(', ')}`);
  say(`${label}: ${r.cpu}`);
  if (l.samples.length) say(`${label}: non-201 samples: ${l.samples.join(' | ')}`);
  if (l.errors) say(`${label}: failed requests by kind: ${JSON.stringify(l.errorKinds)}`);
  if (r.clientErrors.length) say(`${label}: client errors: ${r.clientErrors.join(' | ')}`);
}
