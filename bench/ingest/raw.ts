/**
 * The baseline: what PostgreSQL does with single-row INSERT transactions from as many clients, in the
 * same database, with no hub in the way.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { employeeOf } from '../lib/database.js';
import { cpuSnap, cpuUse, type CpuUse } from '../lib/proc.js';
import { percentiles, type Percentiles } from '../lib/stats.js';

const INSERT = 'INSERT INTO raw_checkins (event_id, employee_id, type, occurred_at) VALUES ($1, $2, $3, $4)';

export async function createRawTable(db: pg.Client): Promise<void> {
  await db.query(
    `CREATE TABLE raw_checkins (
       id bigserial PRIMARY KEY, event_id uuid NOT NULL, employee_id text NOT NULL, type text NOT NULL,
       occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`,
  );
}

/**
 * What one transaction costs this machine with nothing else running: a bare round trip, and a
 * single-row INSERT committed on its own (one round trip and a WAL flush). Raw pays the commit for
 * every row and the hub once per group, so where the flush is slow the hub gains more from grouping.
 */
export async function commitFloor(db: pg.Client): Promise<string> {
  const time = async (sql: string) => {
    const samples: number[] = [];
    for (let i = 0; i < 300; i++) {
      const start = performance.now();
      await db.query(sql);
      samples.push(performance.now() - start);
    }
    return Math.round(percentiles(samples.slice(50)).p50 * 1000);
  };
  const roundTrip = await time('SELECT 1');
  const commit = await time("INSERT INTO raw_checkins (event_id, employee_id, type, occurred_at) VALUES (gen_random_uuid(), 'floor', 'in', now())");
  await db.query("DELETE FROM raw_checkins WHERE employee_id = 'floor'");
  return `one client, before the hub starts: round trip p50 ${roundTrip} µs, single-row commit p50 ${commit} µs`;
}

export type RawResult = { seconds: number; rows: number; latency: Percentiles; samples: number[]; cpu: CpuUse };

/** `connections` pg clients, connected once and idle between slices, each looping BEGIN; INSERT one row; COMMIT while a slice lasts. */
export async function openRaw(dbUrl: string, connections: number, employees: number, hubPid: number) {
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      return c;
    }),
  );
  let i = 0;
  let committedTotal = 0;
  /** Counts the transactions that began and committed inside the slice. */
  async function slice(seconds: number): Promise<RawResult> {
    const windowEnd = performance.now() + seconds * 1000;
    const latencies: number[] = [];
    const before = cpuSnap([['hub (idle)', hubPid]]);
    const worker = async (client: pg.Client, w: number) => {
      while (performance.now() < windowEnd) {
        const start = performance.now();
        const n = i++;
        await client.query('BEGIN');
        await client.query(INSERT, [randomUUID(), employeeOf(w + n, employees).employeeId, n % 2 ? 'out' : 'in', new Date()]);
        await client.query('COMMIT');
        committedTotal++;
        const end = performance.now();
        if (end <= windowEnd) latencies.push(end - start);
      }
    };
    await Promise.all(clients.map(worker));
    // Before the next slice (or the end) lets the clients' backends go idle.
    const after = cpuSnap([['hub (idle)', hubPid]]);
    return { seconds, rows: latencies.length, latency: percentiles(latencies), samples: latencies, cpu: cpuUse(before, after) };
  }
  return { slice, committedTotal: () => committedTotal, close: () => Promise.all(clients.map((c) => c.end())) };
}
