/** The broadcast bench's load: check-ins (hub) or emits (bare), open loop, alternating over the nodes. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { employeeOf } from '../lib/database.js';
import { openLoop, post } from '../lib/load.js';
import { MsHistogram } from '../lib/stats.js';
import type { NodeProc } from './nodes.js';
import { deviceOf, type Kind } from './protocol.js';

export type LoadStats = {
  sent: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
  created: number;
  perSite: Map<string, number>;
  /** From each request's due time to its response. */
  http: MsHistogram;
  /** Hub only, from the 201's recordedAt (the group's seq lock taken): due → recordedAt, and recordedAt → 201 read. */
  toTx: MsHistogram;
  txTo201: MsHistogram;
  samples: string[];
  /** Failed requests by error code (a request that got no answer within 30 s is `timeout`). */
  errorKinds: Record<string, number>;
};

export const emptyLoad = (): LoadStats => ({
  sent: 0,
  seconds: 0,
  statuses: {},
  errors: 0,
  created: 0,
  perSite: new Map(),
  http: new MsHistogram(),
  toTx: new MsHistogram(),
  txTo201: new MsHistogram(),
  samples: [],
  errorKinds: {},
});

/** Employees in turn across phases; bare broadcasts are numbered n so their seqs (2n − 1, 2n) never repeat. */
export type Counters = { employees: number; nextEmployee: number; nextN: number };

function body(kind: Kind, c: Counters, node: number): string {
  const e = employeeOf(c.nextEmployee++, c.employees);
  if (kind === 'hub') return JSON.stringify({ employeeId: e.employeeId, type: 'toggle', eventId: randomUUID(), deviceId: deviceOf(node) });
  return JSON.stringify({ n: ++c.nextN, employeeId: e.employeeId, siteId: e.siteId, deviceId: deviceOf(node) });
}

/**
 * Request i is due at start + i/rate and goes to node i % nodes (keep-alive). The check-in's site is
 * taken from the 201's body.
 */
export async function pacedLoad(kind: Kind, nodes: NodeProc[], c: Counters, rate: number, seconds: number): Promise<LoadStats> {
  const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: 256 }));
  const stats = emptyLoad();
  const path = kind === 'hub' ? '/api/v1/checkins' : '/emit';
  const send = async (i: number, dueAt: number) => {
    const node = i % nodes.length;
    const text = body(kind, c, node);
    const dueWall = Date.now() - (performance.now() - dueAt);
    try {
      const kiosk = nodes[node]!.tokens?.kiosk;
      const { status, text: answer } = await post(agents[node]!, nodes[node]!.url, path, text, kiosk ? { authorization: `Bearer ${kiosk}` } : {});
      stats.http.add(performance.now() - dueAt);
      stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
      if (status === 201) {
        stats.created++;
        const { siteId: site, recordedAt } = (JSON.parse(answer) as { data: { siteId: string; recordedAt?: string } }).data;
        stats.perSite.set(site, (stats.perSite.get(site) ?? 0) + 1);
        if (recordedAt) {
          stats.toTx.add(Date.parse(recordedAt) - dueWall);
          stats.txTo201.add(Date.now() - Date.parse(recordedAt));
        }
      } else if (stats.samples.length < 5) stats.samples.push(`${status} ${answer.slice(0, 200)}`);
    } catch (err) {
      stats.errors++;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      stats.errorKinds[code] = (stats.errorKinds[code] ?? 0) + 1;
    }
  };
  const run = await openLoop(rate, seconds, send);
  stats.sent = run.sent;
  stats.seconds = run.seconds;
  for (const a of agents) a.destroy();
  return stats;
}
