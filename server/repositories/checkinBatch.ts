import pg from 'pg';
import type { Checkin } from '../../shared/schemas.js';
import { settle, type Knex } from '../db/knex.js';
import { fromRow, type CheckinRow } from './checkins.js';
import type { EmployeeRef } from './employees.js';
import type { HubEvent } from './events.js';

/** What the check-in rules need to judge a group, read under the seq lock. */
export type BatchState = {
  head: number;
  now: Date;
  employees: Map<string, Omit<EmployeeRef, 'name'>>;
  /** Whether each site is active: the sites punches name and the employees' own (where read; a site not here is assumed active). */
  sites: Map<string, boolean>;
  /** Stored check-ins by eventId, for retries. */
  known: Map<string, Checkin>;
  /** Each employee's stored punches next to each instant read: the nearest before, any at, the nearest after; in time order. */
  timelines: Map<string, Checkin[]>;
};

export type BatchRead = {
  employeeIds: string[];
  siteIds: string[];
  eventIds: string[];
  /** The instants the rules judge punches at, an entry per employee and instant. */
  instants: Array<{ employeeId: string; at: Date }>;
};

export type BatchWrite = { events: HubEvent[]; checkins: Checkin[]; head: number };

/** What a group judged without reading assumed: see VERIFIED_WRITE. */
export type VerifiedState = {
  employees: Array<{ employeeId: string; siteId: string | null; lastSeq: number | null }>;
  sites: string[];
  eventIds: string[];
  /** Sites where the group checks people in: they must be active. */
  activeSites: string[];
};

const CHECKIN_COLUMNS = 'seq, event_id, employee_id, site_id, device_id, type, occurred_at, recorded_at';

/**
 * Inline a value as a jsonb literal: these statements go in one simple-protocol message, which takes no
 * parameters. Dollar-quoted, as the text needs no escaping then (escapeLiteral rebuilds it a character
 * at a time, a cost paid on every group), unless the text happens to hold the quote's tag.
 */
const json = (value: unknown) => {
  const text = JSON.stringify(value);
  return `${text.includes('$j$') ? pg.escapeLiteral(text) : `$j$${text}$j$`}::jsonb`;
};

// Prepared once per connection (PREPARE in SQL, so they can be EXECUTEd inside a multi-statement
// message): the read and write are planned once, not for every group. Each lookup is a LATERAL probe
// per key (LIMIT keeps the planner from flattening it into a join), so it stays on an index even when
// the cached plan was made while a table was nearly empty; an `= ANY` or a join over the same keys was
// planned as a sequential scan then, and stayed one as the table grew.
const READ = `SELECT clock_timestamp() AS now,
  (SELECT coalesce(json_agg(json_build_object('id', e.id, 'siteId', e.site_id, 'active', e.active)), '[]')
     FROM jsonb_array_elements_text($1) AS k(id) CROSS JOIN LATERAL (SELECT * FROM employees WHERE id = k.id LIMIT 1) e) AS employees,
  (SELECT coalesce(json_agg(json_build_object('id', s.id, 'active', s.active)), '[]') FROM (
     SELECT k.id FROM jsonb_array_elements_text($2) AS k(id)
     UNION
     SELECT e.site_id FROM jsonb_array_elements_text($1) AS k(id) CROSS JOIN LATERAL (SELECT site_id FROM employees WHERE id = k.id LIMIT 1) e
   ) AS n(id) CROSS JOIN LATERAL (SELECT id, active FROM sites WHERE id = n.id LIMIT 1) s) AS sites,
  (SELECT coalesce(json_agg(c), '[]') FROM jsonb_array_elements_text($3) AS k(id)
     CROSS JOIN LATERAL (SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE event_id = k.id::uuid LIMIT 1) c) AS known,
  (SELECT coalesce(json_agg(c ORDER BY c.employee_id, c.occurred_at, c.seq), '[]') FROM (
     SELECT DISTINCT ON (ch.seq) ch.* FROM jsonb_to_recordset($4) AS w("employeeId" text, at timestamptz)
     CROSS JOIN LATERAL (
       (SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE employee_id = w."employeeId" AND occurred_at < w.at
         ORDER BY occurred_at DESC, seq DESC LIMIT 1)
       UNION ALL
       SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE employee_id = w."employeeId" AND occurred_at = w.at
       UNION ALL
       (SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE employee_id = w."employeeId" AND occurred_at > w.at
         ORDER BY occurred_at, seq LIMIT 1)) ch) c) AS timelines`;

const WRITE = `WITH
  ev AS (INSERT INTO events (seq, kind, site_id, employee_id, data)
    SELECT seq, kind, "siteId", "employeeId", data FROM jsonb_to_recordset($1)
      AS x(seq bigint, kind text, "siteId" text, "employeeId" text, data jsonb)),
  ck AS (INSERT INTO checkins (${CHECKIN_COLUMNS})
    SELECT seq, "eventId", "employeeId", "siteId", "deviceId", type, "occurredAt", "recordedAt" FROM jsonb_to_recordset($2)
      AS y(seq bigint, "eventId" uuid, "employeeId" text, "siteId" text, "deviceId" text, type text, "occurredAt" timestamptz, "recordedAt" timestamptz))
  UPDATE event_seq SET value = $3 WHERE id = 1`;

/**
 * The one-round-trip write for a group judged from what the hub already knew (services/latestPunches.ts).
 * It writes only if that knowledge still holds, checked after the seq lock like the read: each
 * employee exists, is active, has the same site and the same latest punch (by occurredAt); each named
 * site exists; each site the group checks people in at is active; no eventId is stored yet. Seqs come
 * relative to 0 and recordedAt from the clock here: the head and the clock are added in SQL. Answers
 * whether it wrote, the head it found and the clock.
 */
const VERIFIED_WRITE = `WITH
  h AS (SELECT value AS head, date_trunc('milliseconds', clock_timestamp()) AS now FROM event_seq WHERE id = 1),
  ok AS (SELECT coalesce(bool_and(emp.id IS NOT NULL AND emp.active AND emp.site_id IS NOT DISTINCT FROM e."siteId"
          AND last.seq IS NOT DISTINCT FROM e."lastSeq"), true)
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($2) AS k(id) WHERE NOT EXISTS (SELECT 1 FROM sites WHERE sites.id = k.id))
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($7) AS k(id)
          CROSS JOIN LATERAL (SELECT 1 FROM sites WHERE sites.id = k.id AND NOT sites.active LIMIT 1) s)
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($3) AS k(id)
          CROSS JOIN LATERAL (SELECT 1 FROM checkins WHERE event_id = k.id::uuid LIMIT 1) c) AS ok
      FROM jsonb_to_recordset($1) AS e("employeeId" text, "siteId" text, "lastSeq" bigint)
      LEFT JOIN LATERAL (SELECT id, active, site_id FROM employees WHERE employees.id = e."employeeId" LIMIT 1) emp ON true
      LEFT JOIN LATERAL (SELECT seq FROM checkins WHERE employee_id = e."employeeId"
        ORDER BY occurred_at DESC, seq DESC LIMIT 1) last ON true),
  ev AS (INSERT INTO events (seq, kind, site_id, employee_id, data)
    SELECT h.head + x.seq, x.kind, x."siteId", x."employeeId",
      x.data || CASE x.kind WHEN 'checkin.recorded'
        THEN jsonb_build_object('seq', h.head + x.seq, 'recordedAt', to_char(h.now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
        ELSE jsonb_build_object('seq', h.head + x.seq) END
    FROM jsonb_to_recordset($4) AS x(seq bigint, kind text, "siteId" text, "employeeId" text, data jsonb), h, ok WHERE ok.ok),
  ck AS (INSERT INTO checkins (${CHECKIN_COLUMNS})
    SELECT h.head + y.seq, y."eventId", y."employeeId", y."siteId", y."deviceId", y.type, y."occurredAt", h.now
    FROM jsonb_to_recordset($5)
      AS y(seq bigint, "eventId" uuid, "employeeId" text, "siteId" text, "deviceId" text, type text, "occurredAt" timestamptz), h, ok
    WHERE ok.ok),
  up AS (UPDATE event_seq SET value = h.head + $6 FROM h, ok WHERE event_seq.id = 1 AND ok.ok)
  SELECT ok.ok, h.head, h.now FROM ok, h`;

const PREPARE = `PREPARE hub_batch_read(jsonb, jsonb, jsonb, jsonb) AS ${READ};
  PREPARE hub_batch_write(jsonb, jsonb, bigint) AS ${WRITE};
  PREPARE hub_verified_write(jsonb, jsonb, jsonb, jsonb, jsonb, bigint, jsonb) AS ${VERIFIED_WRITE};`;

const prepared = new WeakSet<pg.Client>();

export type CheckinLedger = ReturnType<typeof createCheckinLedger>;

/**
 * Where the group commit's transactions run: one connection, taken from the pool for a run of groups
 * that follow each other and handed back when the run ends (`release`) or a group fails. Holding it
 * lets a group's first message go out at once, without waiting its turn for the pool.
 */
export function createCheckinLedger(db: Knex) {
  let held: pg.Client | null = null;

  function release(): void {
    const conn = held;
    held = null;
    if (conn) void db.client.releaseConnection(conn);
  }

  /**
   * One group's transaction in two round trips. First message: BEGIN, lock the seq counter row (a
   * statement of its own, so the next one's snapshot sees the previous group's commit), and read the
   * clock, employees, sites, known eventIds and timelines in one statement (the clock once the lock is
   * held, not at BEGIN, so recordedAt never goes back as seq goes up, also across nodes). Then
   * `decide` judges in memory. Second message: every insert and the counter update in one statement,
   * then COMMIT.
   */
  async function run(read: BatchRead, decide: (state: BatchState) => BatchWrite): Promise<BatchWrite> {
    const conn: pg.Client = held ?? (held = await db.client.acquireConnection());
    let open = false;
    try {
      const prepare = prepared.has(conn) ? '' : PREPARE;
      open = true;
      const results = (await conn.query(`${prepare}BEGIN;
        SELECT value AS head FROM event_seq WHERE id = 1 FOR UPDATE;
        EXECUTE hub_batch_read(${json(read.employeeIds)}, ${json(read.siteIds)}, ${json(read.eventIds)}, ${json(read.instants)})`)) as unknown as pg.QueryResult[];
      prepared.add(conn);
      const { head } = results.at(-2)!.rows[0];
      const r = results.at(-1)!.rows[0];
      const timelines = new Map<string, Checkin[]>(read.instants.map((w) => [w.employeeId, []]));
      for (const row of r.timelines) timelines.get(row.employee_id)!.push(fromRow(row));
      const write = decide({
        head: Number(head),
        now: r.now,
        employees: new Map(r.employees.map((e: { id: string; siteId: string | null; active: boolean }) => [e.id, e])),
        sites: new Map(r.sites.map((s: { id: string; active: boolean }) => [s.id, s.active])),
        known: new Map(r.known.map((row: CheckinRow) => [row.event_id, fromRow(row)])),
        timelines,
      });
      await (write.checkins.length
        ? conn.query(`EXECUTE hub_batch_write(${json(write.events)}, ${json(write.checkins)}, ${Number(write.head)}); COMMIT`)
        : conn.query('COMMIT'));
      open = false;
      return write;
    } catch (err) {
      if (open) await rollback(conn);
      // A failed connection goes back to the pool, which drops it if it is broken; the next group takes another.
      if (held === conn) release();
      throw err;
    }
  }

  /**
   * One group's transaction in one round trip: BEGIN, the seq lock, VERIFIED_WRITE, COMMIT. Resolves
   * with the head and clock it wrote at, or null when it wrote nothing: what the hub knew had changed,
   * or the write failed (an eventId stored meanwhile, a site deleted). The caller then takes `run`,
   * which reads the state afresh; a lost connection fails there too.
   */
  async function runVerified(expected: VerifiedState, write: BatchWrite): Promise<{ head: number; now: Date } | null> {
    const conn: pg.Client = held ?? (held = await db.client.acquireConnection());
    const prepare = prepared.has(conn) ? '' : PREPARE;
    try {
      const results = (await conn.query(`${prepare}BEGIN;
        SELECT value FROM event_seq WHERE id = 1 FOR UPDATE;
        EXECUTE hub_verified_write(${json(expected.employees)}, ${json(expected.sites)}, ${json(expected.eventIds)},
          ${json(write.events)}, ${json(write.checkins)}, ${write.events.length}, ${json(expected.activeSites)});
        COMMIT`)) as unknown as pg.QueryResult[];
      prepared.add(conn);
      const r = results.at(-2)!.rows[0];
      return r.ok ? { head: Number(r.head), now: r.now } : null;
    } catch {
      await rollback(conn);
      return null;
    }
  }

  /**
   * If the failed message was the one to prepare the statements, forget them too, so the next use
   * prepares afresh. A connection still waiting for its answer (timed out) is not asked: the pool ends it.
   */
  async function rollback(conn: pg.Client): Promise<void> {
    if (!(await settle(conn))) return;
    await conn.query(`ROLLBACK${prepared.has(conn) ? '' : '; DEALLOCATE ALL'}`).catch(() => undefined);
  }

  return { run, runVerified, release };
}
