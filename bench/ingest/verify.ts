/**
 * The run is only valid if the database holds exactly what the hub acknowledged: every 201 (or the
 * older API's 200) stored once, nothing the bench did not send, under gapless seqs.
 */
import type pg from 'pg';
import { num } from '../lib/print.js';
import type { LoadResult } from './load.js';
import type { Route } from './routes.js';

type Verdict = { ok: boolean; lines: string[] };

/**
 * Requests stored without their acknowledgement read: autocannon hangs up when a phase ends, and each
 * connection may have one request on the wire then, which the hub still commits (correctly).
 */
function ledgerLines(route: Route, stored: Set<string>, connections: number): Verdict {
  const lost = [...route.acked].filter((k) => !stored.has(k)).length;
  const stray = [...stored].filter((k) => !route.sent.has(k)).length;
  const unacked = [...stored].filter((k) => !route.acked.has(k)).length;
  const cutOffLimit = connections * route.runs;
  return {
    ok: lost === 0 && stray === 0 && unacked <= cutOffLimit && stored.size === route.acked.size + unacked,
    lines: [
      `${route.name} acknowledged: ${num(route.acked.size)}; every one stored: ${lost === 0 ? 'yes' : `NO, ${lost} missing`}`,
      `${route.name} stored without an acknowledgement read: ${unacked} (requests on the wire when autocannon hung up at a phase end; allowed ≤ ${cutOffLimit})`,
      `${route.name} stored that the bench never sent: ${stray}`,
    ],
  };
}

async function checkins(db: pg.Client, route: Route, connections: number): Promise<Verdict> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids, min(seq)::bigint AS min, max(seq)::bigint AS max,
            (SELECT count(*) FROM checkins c LEFT JOIN events e ON e.seq = c.seq
              WHERE e.seq IS NULL OR e.kind <> 'checkin.recorded')::int AS orphans
       FROM checkins`,
  );
  const r = rows[0];
  const stored = new Set<string>((await db.query('SELECT event_id FROM checkins')).rows.map((x: { event_id: string }) => x.event_id));
  const ledger = ledgerLines(route, stored, connections);
  return {
    ok: ledger.ok && r.distinct_ids === r.n && r.orphans === 0,
    lines: [
      `check-ins in PostgreSQL: ${num(r.n)} (seq ${r.min}..${r.max}, ${num(r.distinct_ids)} distinct eventIds, ${r.orphans} without their checkin.recorded event)`,
      ...ledger.lines,
    ],
  };
}

async function creates(db: pg.Client, route: Route, connections: number): Promise<Verdict> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n,
            (SELECT count(*) FROM events WHERE kind = 'record.updated')::int AS events,
            (SELECT count(*) FROM records r LEFT JOIN events e ON e.seq = r.seq
              WHERE e.seq IS NULL OR e.kind <> 'record.updated')::int AS orphans
       FROM records`,
  );
  const r = rows[0];
  const stored = new Set<string>((await db.query(`SELECT employee_id || ' ' || date::text AS key FROM records`)).rows.map((x: { key: string }) => x.key));
  const ledger = ledgerLines(route, stored, connections);
  // Every (id, date) sent was new, so each stored record is one change with one event of its own.
  return {
    ok: ledger.ok && r.orphans === 0 && r.events === r.n,
    lines: [`records in PostgreSQL: ${num(r.n)}, record.updated events ${num(r.events)}, ${r.orphans} without their record.updated event`, ...ledger.lines],
  };
}

export async function verify(db: pg.Client, routes: Route[], load: LoadResult[], connections: number): Promise<Verdict> {
  // seq is global to every event kind, so gaplessness is checked on events.
  const { rows } = await db.query(
    `SELECT count(*)::int AS events, coalesce(min(seq), 0)::bigint AS min, coalesce(max(seq), 0)::bigint AS max,
            (SELECT value FROM event_seq WHERE id = 1)::bigint AS head
       FROM events`,
  );
  const [events, min, max, head] = [rows[0].events, rows[0].min, rows[0].max, rows[0].head].map(Number) as [number, number, number, number];
  const gapless = events === 0 || (min === 1 && max === events && head === max);
  const badResponses = load.reduce((s, l) => s + l.non2xx + l.errors, 0); // warm-ups included
  // Check-ins sent through several routes (hubs) are one set in the database: checked as one.
  const punches = routes.filter((r) => r.kind === 'checkin.recorded');
  const allPunches: Route = {
    ...punches[0]!,
    name: 'check-ins',
    sent: new Set(punches.flatMap((r) => [...r.sent])),
    acked: new Set(punches.flatMap((r) => [...r.acked])),
    runs: punches.reduce((n, r) => n + r.runs, 0),
  };
  const parts = await Promise.all([checkins(db, allPunches, connections), ...routes.filter((r) => r.kind !== 'checkin.recorded').map((route) => creates(db, route, connections))]);
  return {
    ok: gapless && badResponses === 0 && parts.every((p) => p.ok),
    lines: [
      ...parts.flatMap((p) => p.lines),
      `events: ${num(events)}, seq ${min}..${max}, event_seq head ${head}: gapless ${gapless ? 'yes' : 'NO'}`,
      `error responses or socket errors in any phase (warm-ups too): ${badResponses}`,
    ],
  };
}
