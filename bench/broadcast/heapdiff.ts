/**
 * Where a node's sockets' memory goes: two heap snapshots of one process (before and after its sockets
 * connected, as BENCH_HEAP_SNAPSHOTS writes them) → the growth by kind of object, per socket.
 *
 *   node --max-old-space-size=8000 --import tsx bench/broadcast/heapdiff.ts <before.heapsnapshot> <after.heapsnapshot> --sockets 10000 [--top 40]
 *
 * Objects are grouped by constructor, closures by function and source line; what an object owns
 * without a name of its own (property and element stores, Map/Set tables, strings, numbers, V8's
 * internals) is grouped with its first owner's kind, e.g. "(object elements) of Set", so a Set's
 * table counts as part of Sets.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

type Snapshot = {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
};

type Group = { count: number; bytes: number };

// Kinds that are named after what owns them: they have no constructor to speak of.
const OWNED = new Set(['hidden', 'array', 'string', 'concatenated string', 'sliced string', 'number', 'code', 'object shape', 'heap number']);

function groups(file: string): Map<string, Group> {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nType, nName, nSize, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;

  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + nodes[i * nf + nEdges]! * ef;
  const child = (i: number, edgeName: string): number => {
    for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += ef) if (strings[edges[e + eName]!] === edgeName) return edges[e + eTo]! / nf;
    return -1;
  };
  // A closure's file: closure → shared (function info) → script, named by its path.
  const fileOf = (i: number): string => {
    const shared = child(i, 'shared');
    const script = shared < 0 ? -1 : child(shared, 'script_or_debug_info');
    return script < 0 ? '?' : strings[nodes[script * nf + nName]!]!.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(server|bench|shared)\//, '$1/');
  };
  // Closures: "name @file:line:column" from the snapshot's locations (of the code V8 ran: tsx's output for .ts files).
  const where = new Map<number, string>();
  const loc = snap.locations ?? [];
  for (let i = 0; i < loc.length; i += 4) where.set(loc[i]! / nf, `${fileOf(loc[i]! / nf)}:${loc[i + 2]! + 1}:${loc[i + 3]! + 1}`);

  const own = (i: number): string => {
    const type = nodeTypes[nodes[i * nf + nType]!]!;
    const name = strings[nodes[i * nf + nName]!]!;
    if (type === 'closure') return `closure ${name || '(anonymous)'} @${where.get(i) ?? '?'}`;
    if (type === 'object' || type === 'native') return name.length > 60 ? `${name.slice(0, 60)}…` : name;
    return `(${type}) ${type === 'string' || type === 'number' ? '' : name}`.trim();
  };

  // First strong owner of each node that is named after its owner, in edge order.
  const owner = new Int32Array(count).fill(-1);
  for (let i = 0, e = 0; i < count; i++) {
    const n = nodes[i * nf + nEdges]!;
    for (let k = 0; k < n; k++, e += ef) {
      if (edges[e + eType] === weak) continue;
      const to = edges[e + eTo]! / nf;
      if (owner[to] === -1 && to !== i) owner[to] = i;
    }
  }
  const label = (i: number): string => {
    let at = i;
    const parts: string[] = [];
    // Up through owned kinds to the first thing with a name of its own (a few hops at most).
    for (let hop = 0; hop < 4 && OWNED.has(nodeTypes[nodes[at * nf + nType]!]!) && owner[at]! >= 0; hop++) {
      parts.push(own(at));
      at = owner[at]!;
    }
    return parts.length ? `${parts[0]} of ${own(at)}` : own(at);
  };

  const out = new Map<string, Group>();
  for (let i = 0; i < count; i++) {
    const key = label(i);
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += nodes[i * nf + nSize]!;
    out.set(key, g);
  }
  return out;
}

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { sockets: { type: 'string' }, top: { type: 'string', default: '40' } } });
if (positionals.length !== 2 || !flags.sockets) {
  console.error('usage: heapdiff.ts <before.heapsnapshot> <after.heapsnapshot> --sockets N [--top 40]');
  process.exit(2);
}
const sockets = Number(flags.sockets);
const before = groups(positionals[0]!);
const after = groups(positionals[1]!);
const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
  const b = before.get(key) ?? { count: 0, bytes: 0 };
  const a = after.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: a.count - b.count, bytes: a.bytes - b.bytes };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((s, r) => s + r.bytes, 0);
console.log(`live heap growth ${(total / 1024 / sockets).toFixed(2)} KiB per socket (${sockets} sockets); by kind, bytes and objects per socket:`);
for (const r of rows.slice(0, Number(flags.top))) console.log(`${(r.bytes / sockets).toFixed(0).padStart(7)} B  ${(r.count / sockets).toFixed(2).padStart(7)}  ${r.key}`);
const rest = rows.slice(Number(flags.top)).reduce((s, r) => s + r.bytes, 0);
console.log(`${(rest / sockets).toFixed(0).padStart(7)} B           everything else`);
