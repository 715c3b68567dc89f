import pg from 'pg';
import type { Geofence } from '../../shared/directory.js';
import type { Checkin, LegacyRecord } from '../../shared/schemas.js';
import { settle, type Knex } from '../db/knex.js';
import type { StoredEvent } from '../events/event.js';
import { auditRow, type AuditRecord } from './audit.js';
import { fromRow, type CheckinRow } from './checkins.js';

/** What the rules judge a commit group against, read under the seq lock (or known from earlier reads). */
export type GroupState = {
  head: number;
  now: Date;
  employees: Map<string, { id: string; siteId: string | null; active: boolean; hasPin: boolean }>;
  /** Whether each site is active, and its geofence: the sites punches name and the employees' own. */
  sites: Map<string, SiteRules>;
  /** Stored check-ins by eventId, for retries and voids (voided ones too). */
  known: Map<string, Checkin>;
  /** Each employee's standing (not voided) punches next to each instant read: the nearest before, any at, the nearest after; in time order. */
  timelines: Map<string, Checkin[]>;
};

/** What the rules read of a site. */
export type SiteRules = { active: boolean; geofence: Geofence | null };

export type GroupRead = {
  employeeIds: string[];
  siteIds: string[];
  eventIds: string[];
  /** The instants the rules judge punches at, an entry per employee and instant. */
  instants: Array<{ employeeId: string; at: Date }>;
};

/** An older-API record as the group writes it: upserted per employee and date, with the seq of its event. */
export type RecordWrite = LegacyRecord & { seq: number };

/** Everything one group writes: its events and the rows they record, and the seq counter's new value. */
export type GroupWrite = {
  head: number;
  events: StoredEvent[];
  checkins: Checkin[];
  records: RecordWrite[];
  /** Employees an older-API record names that may not exist yet: created with this name if missing. */
  employees: Array<{ id: string; name: string }>;
  /** Check-ins voided: each marked with its checkin.voided event's seq, who and why. */
  voids: VoidWrite[];
  /** One entry per stored check-in, void and record, committed with them. */
  audit: AuditRecord[];
};

export type VoidWrite = { seq: number; voidedSeq: number; by: string | null; reason: string };

/** What a group judged from memory took for granted (see WRITE_IF_UNCHANGED). */
export type Assumed = {
  employees: Array<{ employeeId: string; siteId: string | null; active: boolean; hasPin: boolean; lastSeq: number | null }>;
  sites: Array<{ id: string; active: boolean; geofence: Geofence | null }>;
  /** EventIds no stored check-in has (the judge was given none of them as known). */
  unusedEventIds: string[];
};

/** What a punch records (repositories/checkins.ts RECORDED_COLUMNS), and with its void. */
const CHECKIN_COLUMNS = 'seq, event_id, employee_id, site_id, device_id, type, occurred_at, recorded_at, reason, location, geofence';
const CHECKIN_WITH_VOID = `${CHECKIN_COLUMNS}, voided_seq, voided_at, voided_by, void_reason`;
/** The columns a group inserts, from a jsonb recordset of Checkins. */
const CHECKIN_RECORDSET = `"seq" bigint, "eventId" uuid, "employeeId" text, "siteId" text, "deviceId" text, type text, "occurredAt" timestamptz,
  "recordedAt" timestamptz, reason text, location jsonb, geofence text`;

/**
 * Inline a value as a jsonb literal: these statements go in one simple-protocol message, which takes no
 * parameters. Dollar-quoted, as the text needs no escaping then (escapeLiteral rebuilds it a character
 * at a time, a cost paid on every group), unless the text happens to hold the quote's tag.
 */
const json = (value: unknown) => {
  const text = JSON.stringify(value);
  return `${text.includes('$j$') ? pg.escapeLiteral(text) : `$j$${text}$j$`}::jsonb`;
};

// A checkin.recorded event's payload is its check-in row (repositories/events.ts); others keep theirs.
const eventRows = (events: StoredEvent[]) =>
  events.map((e) => ({ seq: e.seq, kind: e.name, siteId: e.siteId, employeeId: e.employeeId, data: e.name === 'checkin.recorded' ? null : e.payload }));

// Prepared once per connection (PREPARE in SQL, so they can be EXECUTEd inside a multi-statement
// message): the read and writes are planned once, not for every group. Each lookup is a LATERAL probe
// per key (LIMIT keeps the planner from flattening it into a join), so it stays on an index even when
// the cached plan was made while a table was nearly empty; an `= ANY` or a join over the same keys was
// planned as a sequential scan then, and stayed one as the table grew.
const READ = `SELECT clock_timestamp() AS now,
  (SELECT coalesce(json_agg(json_build_object('id', e.id, 'siteId', e.site_id, 'active', e.active, 'hasPin', e.pin_hash IS NOT NULL)), '[]')
     FROM jsonb_array_elements_text($1) AS k(id) CROSS JOIN LATERAL (SELECT * FROM employees WHERE id = k.id LIMIT 1) e) AS employees,
  (SELECT coalesce(json_agg(json_build_object('id', s.id, 'active', s.active, 'geofence', s.geofence)), '[]') FROM (
     SELECT k.id FROM jsonb_array_elements_text($2) AS k(id)
     UNION
     SELECT e.site_id FROM jsonb_array_elements_text($1) AS k(id) CROSS JOIN LATERAL (SELECT site_id FROM employees WHERE id = k.id LIMIT 1) e
   ) AS n(id) CROSS JOIN LATERAL (SELECT id, active, geofence FROM sites WHERE id = n.id LIMIT 1) s) AS sites,
  (SELECT coalesce(json_agg(c), '[]') FROM jsonb_array_elements_text($3) AS k(id)
     CROSS JOIN LATERAL (SELECT ${CHECKIN_WITH_VOID} FROM checkins WHERE event_id = k.id::uuid LIMIT 1) c) AS known,
  (SELECT coalesce(json_agg(c ORDER BY c.employee_id, c.occurred_at, c.seq), '[]') FROM (
     SELECT DISTINCT ON (ch.seq) ch.* FROM jsonb_to_recordset($4) AS w("employeeId" text, at timestamptz)
     CROSS JOIN LATERAL (
       (SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE employee_id = w."employeeId" AND occurred_at < w.at AND voided_seq IS NULL
         ORDER BY occurred_at DESC, seq DESC LIMIT 1)
       UNION ALL
       SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE employee_id = w."employeeId" AND occurred_at = w.at AND voided_seq IS NULL
       UNION ALL
       (SELECT ${CHECKIN_COLUMNS} FROM checkins WHERE employee_id = w."employeeId" AND occurred_at > w.at AND voided_seq IS NULL
         ORDER BY occurred_at, seq LIMIT 1)) ch) c) AS timelines`;

/** The group's audit entries (repositories/audit.ts rows), from a jsonb parameter. */
const AUDIT_INSERT = (param: string) => `INSERT INTO audit_log (actor_kind, actor_id, actor_role, ip, request_id, action, entity, entity_id, changes)
    SELECT a.actor_kind, a.actor_id, a.actor_role, a.ip, a.request_id, a.action, a.entity, a.entity_id, a.changes
    FROM jsonb_to_recordset(${param}) AS a(actor_kind text, actor_id text, actor_role text, ip text, request_id text, action text, entity text,
      entity_id text, changes jsonb)`;

// Employees an older-API record names are created first: the records' foreign key is checked at the
// end of the statement, when they exist.
const WRITE = `WITH
  em AS (INSERT INTO employees (id, name) SELECT id, name FROM jsonb_to_recordset($4) AS m(id text, name text)
    ON CONFLICT (id) DO NOTHING),
  ev AS (INSERT INTO events (seq, kind, site_id, employee_id, data)
    SELECT seq, kind, "siteId", "employeeId", data FROM jsonb_to_recordset($1)
      AS x(seq bigint, kind text, "siteId" text, "employeeId" text, data jsonb)),
  ck AS (INSERT INTO checkins (${CHECKIN_COLUMNS})
    SELECT seq, "eventId", "employeeId", "siteId", "deviceId", type, "occurredAt", "recordedAt", reason, location, geofence
    FROM jsonb_to_recordset($2) AS y(${CHECKIN_RECORDSET})),
  vd AS (UPDATE checkins SET voided_seq = v."voidedSeq", voided_at = clock_timestamp(), voided_by = v.by, void_reason = v.reason
    FROM jsonb_to_recordset($7) AS v(seq bigint, "voidedSeq" bigint, by text, reason text) WHERE checkins.seq = v.seq),
  rc AS (INSERT INTO records (employee_id, name, status, date, seq)
    SELECT id, name, status, date, seq FROM jsonb_to_recordset($5) AS r(id text, name text, status text, date date, seq bigint)
    ON CONFLICT (employee_id, date) DO UPDATE SET name = excluded.name, status = excluded.status, seq = excluded.seq, updated_at = now()),
  au AS (${AUDIT_INSERT('$6')})
  UPDATE event_seq SET value = $3 WHERE id = 1`;

/**
 * The one-round-trip write for a group of punches judged from what this node already knew
 * (services/ledger/known.ts). It writes only if what the judge was given is still what is stored,
 * checked after the seq lock like the read: each employee's active flag, site and latest punch (by
 * occurredAt), each site's active flag, and that none of the group's eventIds is stored. It checks no
 * rule: a group judged from state that still holds was judged right. Seqs come relative to 0, and
 * recordedAt is the clock here: the head and clock are added in SQL and answered, with whether it wrote.
 */
const WRITE_IF_UNCHANGED = `WITH
  h AS (SELECT value AS head, date_trunc('milliseconds', clock_timestamp()) AS now FROM event_seq WHERE id = 1),
  ok AS (SELECT
      NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($1) AS e("employeeId" text, "siteId" text, active boolean, "hasPin" boolean, "lastSeq" bigint)
        LEFT JOIN LATERAL (SELECT active, site_id, pin_hash IS NOT NULL AS has_pin FROM employees WHERE employees.id = e."employeeId" LIMIT 1) emp ON true
        LEFT JOIN LATERAL (SELECT seq FROM checkins WHERE employee_id = e."employeeId" AND voided_seq IS NULL ORDER BY occurred_at DESC, seq DESC LIMIT 1) last ON true
        WHERE emp.active IS DISTINCT FROM e.active OR emp.site_id IS DISTINCT FROM e."siteId" OR emp.has_pin IS DISTINCT FROM e."hasPin"
          OR last.seq IS DISTINCT FROM e."lastSeq")
      AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2) AS s(id text, active boolean, geofence jsonb)
        LEFT JOIN LATERAL (SELECT active, geofence FROM sites WHERE sites.id = s.id LIMIT 1) site ON true
        WHERE site.active IS DISTINCT FROM s.active OR site.geofence IS DISTINCT FROM s.geofence)
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($6) AS k(id)
        CROSS JOIN LATERAL (SELECT 1 FROM checkins WHERE event_id = k.id::uuid LIMIT 1) c) AS ok),
  ev AS (INSERT INTO events (seq, kind, site_id, employee_id, data)
    SELECT h.head + x.seq, x.kind, x."siteId", x."employeeId", x.data
    FROM jsonb_to_recordset($3) AS x(seq bigint, kind text, "siteId" text, "employeeId" text, data jsonb), h, ok WHERE ok.ok),
  ck AS (INSERT INTO checkins (${CHECKIN_COLUMNS})
    SELECT h.head + y.seq, y."eventId", y."employeeId", y."siteId", y."deviceId", y.type, y."occurredAt", h.now, y.reason, y.location, y.geofence
    FROM jsonb_to_recordset($4) AS y(${CHECKIN_RECORDSET}), h, ok
    WHERE ok.ok),
  au AS (${AUDIT_INSERT('$7')}, ok WHERE ok.ok),
  up AS (UPDATE event_seq SET value = h.head + $5 FROM h, ok WHERE event_seq.id = 1 AND ok.ok)
  SELECT ok.ok, h.head, h.now FROM ok, h`;

const PREPARE = `PREPARE hub_group_read(jsonb, jsonb, jsonb, jsonb) AS ${READ};
  PREPARE hub_group_write(jsonb, jsonb, bigint, jsonb, jsonb, jsonb, jsonb) AS ${WRITE};
  PREPARE hub_group_write_if_unchanged(jsonb, jsonb, jsonb, jsonb, bigint, jsonb, jsonb) AS ${WRITE_IF_UNCHANGED};`;

const prepared = new WeakSet<pg.Client>();

export type LedgerStore = ReturnType<typeof createLedgerStore>;

/**
 * The only writer of seqs: every event, and the rows it records, is written by one of these two
 * transactions. They run on one connection, taken from the pool for a run of groups that follow each
 * other and handed back when the run ends (`release`) or a group fails. Holding it lets a group's
 * first message go out at once, without waiting its turn for the pool.
 */
export function createLedgerStore(db: Knex) {
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
  async function run(read: GroupRead, decide: (state: GroupState) => GroupWrite): Promise<{ state: GroupState; write: GroupWrite }> {
    const conn: pg.Client = held ?? (held = await db.client.acquireConnection());
    let open = false;
    try {
      const prepare = prepared.has(conn) ? '' : PREPARE;
      open = true;
      const results = (await conn.query(`${prepare}BEGIN;
        SELECT value AS head FROM event_seq WHERE id = 1 FOR UPDATE;
        EXECUTE hub_group_read(${json(read.employeeIds)}, ${json(read.siteIds)}, ${json(read.eventIds)}, ${json(read.instants)})`)) as unknown as pg.QueryResult[];
      prepared.add(conn);
      const { head } = results.at(-2)!.rows[0];
      const r = results.at(-1)!.rows[0];
      const timelines = new Map<string, Checkin[]>(read.instants.map((w) => [w.employeeId, []]));
      for (const row of r.timelines) timelines.get(row.employee_id)!.push(fromRow(row));
      const state: GroupState = {
        head: Number(head),
        now: r.now,
        employees: new Map(r.employees.map((e: { id: string; siteId: string | null; active: boolean }) => [e.id, e])),
        sites: new Map(r.sites.map((s: { id: string; active: boolean; geofence: Geofence | null }) => [s.id, { active: s.active, geofence: s.geofence }])),
        known: new Map(r.known.map((row: CheckinRow) => [row.event_id, fromRow(row)])),
        timelines,
      };
      const write = decide(state);
      await (write.head > state.head
        ? conn.query(`EXECUTE hub_group_write(${json(eventRows(write.events))}, ${json(write.checkins)}, ${Number(write.head)},
            ${json(write.employees)}, ${json(write.records)}, ${json(write.audit.map(auditRow))}, ${json(write.voids)}); COMMIT`)
        : conn.query('COMMIT'));
      open = false;
      return { state, write };
    } catch (err) {
      if (open) await rollback(conn);
      // A failed connection goes back to the pool, which drops it if it is broken; the next group takes another.
      if (held === conn) release();
      throw err;
    }
  }

  /**
   * One group's transaction in one round trip: BEGIN, the seq lock, WRITE_IF_UNCHANGED, COMMIT.
   * Resolves with the head and clock it wrote at, or null when it wrote nothing (what was assumed had
   * changed, or the write failed); the caller then takes `run`, which reads the state afresh.
   */
  async function runIfUnchanged(assumed: Assumed, write: GroupWrite): Promise<{ head: number; now: Date } | null> {
    const conn: pg.Client = held ?? (held = await db.client.acquireConnection());
    const prepare = prepared.has(conn) ? '' : PREPARE;
    try {
      const results = (await conn.query(`${prepare}BEGIN;
        SELECT value FROM event_seq WHERE id = 1 FOR UPDATE;
        EXECUTE hub_group_write_if_unchanged(${json(assumed.employees)}, ${json(assumed.sites)},
          ${json(eventRows(write.events))}, ${json(write.checkins)}, ${write.head}, ${json(assumed.unusedEventIds)},
          ${json(write.audit.map(auditRow))});
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

  return { run, runIfUnchanged, release };
}
