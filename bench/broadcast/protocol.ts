/** What the broadcast driver (main.ts) and its dashboard workers (dashboards.ts) say to each other over IPC. */

export type Kind = 'hub' | 'bare';

/** node: the index of the node the socket is on; check-ins carry the index of the node that took them as deviceId. */
export type SocketSpec = { url: string; site: string; node: number; token?: string };
export const deviceOf = (node: number) => `bench-node-${node}`;

export type SiteTally = { sockets: number; minCheckins: number; maxCheckins: number; checkins: number; minPresence: number; maxPresence: number; presence: number };

export type ClientReport = {
  sockets: number;
  connected: number;
  perSite: Record<string, SiteTally>;
  /** checkin.recorded receive latency, for sockets on the node that took the check-in and on another node. */
  latencyLocal: Array<[number, number]>;
  latencyRemote: Array<[number, number]>;
  /** seq ≤ the previous seq on the same socket, as received on the wire (before the client library drops it). */
  wireNonIncreasing: number;
  disconnects: number;
  errors: string[];
  loopDelayMs: { p50: number; p99: number; max: number };
  rssKiB: number;
};

export type ToWorker =
  | { id: number; op: 'connect'; kind: Kind; sockets: SocketSpec[]; concurrency: number }
  | { id: number; op: 'start'; fromSeq: number; keepSamples: boolean }
  | { id: number; op: 'fromCommit'; stamps: Array<[number, number]> }
  | { id: number; op: 'report' }
  | { id: number; op: 'close' };

export type WorkerRequest = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;
