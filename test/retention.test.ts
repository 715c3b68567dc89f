import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../server/config.js';
import type { Knex } from '../server/db/knex.js';
import { pruneEvents } from '../server/repositories/events.js';
import { createRetention } from '../server/services/retention.js';
import { createDashboardClient, type DashboardClient } from '../shared/client.js';
import type { LiveEvent } from '../shared/events.js';
import type { ErrorBody, SubscribeAck } from '../shared/schemas.js';
import { makeEmployee, makeSite, storeCheckins } from './support/factories.js';
import { ack, connected } from './support/handshake.js';
import { api, useTestHub } from './support/hub.js';
import { eventually, recordDashboard, until } from './support/live.js';

const DAY = 86_400_000;
const DAYS = 35;
const silent = pino({ level: 'silent' });
type Ok = Extract<SubscribeAck, { ok: true }>;

const headOf = async (db: Knex) => Number((await db('event_seq').where({ id: 1 }).first('value')).value);
const watermarkOf = async (db: Knex) => Number((await db('event_retention').where({ id: 1 }).first('pruned_through')).pruned_through);
/** Events up to `seq` were committed `days` ago (older than the horizon). */
const age = (db: Knex, seq: number, days = DAYS + 5) =>
  db.raw('UPDATE events SET created_at = created_at - make_interval(days => ?) WHERE seq <= ?', [days, seq]);

/** A dashboard on the client library that records what it is handed, resets included. */
function watchWithResets(hub: { url: string; adminToken: string }, opts: { sites?: string[]; since?: number }) {
  const seen = { events: [] as LiveEvent[], subscribed: [] as Ok[], resets: [] as Ok[], errors: [] as ErrorBody[] };
  const client: DashboardClient = createDashboardClient({
    url: hub.url,
    token: hub.adminToken,
    ...opts,
    onEvent: (e) => seen.events.push(e),
    onSubscribed: (a) => seen.subscribed.push(a),
    onReset: (a) => seen.resets.push(a),
    onError: (e) => seen.errors.push(e),
    socket: { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 },
  });
  return { client, ...seen };
}

describe('event retention: old events pruned, check-ins kept, readers told', () => {
  const open: Array<{ close(): void }> = [];
  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeSite(db, { id: 'S2' });
      for (let i = 0; i < 10; i++) await makeEmployee(db, { id: `E${i}`, siteId: i < 8 ? 'S1' : 'S2' });
    },
    // The hub's own pruner stays off here: the tests run theirs, on a clock of their own.
    env: { EVENT_RETENTION_DAYS: '0' },
  });
  afterEach(() => open.splice(0).forEach((c) => c.close()));

  const punch = async (employeeId: string) => {
    const res = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId, type: 'toggle' });
    assert.equal(res.status, 201, res.text);
    return res.body.data.seq as number;
  };
  const head = () => headOf(t.tdb.db);
  const watermark = () => watermarkOf(t.tdb.db);
  const retention = (opts: { batchSize?: number; days?: number; logger?: pino.Logger } = {}) =>
    createRetention({ db: t.tdb.db, logger: opts.logger ?? silent, days: opts.days ?? DAYS, intervalMs: 600_000, batchSize: opts.batchSize ?? 1000, now: Date.now });

  it('prunes a run of the oldest events in batches, up to the first one not old enough, and keeps every check-in', async () => {
    for (let i = 0; i < 12; i++) await punch(`E${i % 4}`);
    const oldHead = await head();
    const first = Number((await t.tdb.db('events').min('seq as seq').first())!.seq);
    await punch('E5');
    await age(t.tdb.db, oldHead);
    // One event in the old range was committed late (a long transaction): nothing from it on goes yet.
    const late = first + 10;
    await t.tdb.db('events').where({ seq: late }).update({ created_at: t.tdb.db.fn.now() });
    const checkins = await t.tdb.db('checkins').orderBy('seq').select();
    const listed = (await api(t.hub, 'GET', '/api/v1/checkins?employeeId=E0')).body.data;
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });

    const run = await retention({ batchSize: 4, logger }).run();
    assert.deepEqual(run, { pruned: 10, prunedThrough: late - 1, batches: 3 });
    assert.equal(await watermark(), late - 1);
    assert.equal(Number((await t.tdb.db('events').min('seq as seq').first())!.seq), late);
    assert.deepEqual(
      lines.map((l) => [l.level, l.pruned, l.prunedThrough, l.batches]),
      [[30, 10, late - 1, 3]],
    );

    await t.tdb.db('events').where({ seq: late }).update({ created_at: t.tdb.db.raw("now() - interval '40 days'") });
    assert.equal((await retention({ batchSize: 4 }).run()).prunedThrough, oldHead);
    assert.deepEqual(await t.tdb.db('events').where('seq', '<=', oldHead).pluck('seq'), []);
    // The events committed since are all kept, and nothing is pruned twice.
    assert.deepEqual(await t.tdb.db('events').orderBy('seq').pluck('seq'), range(oldHead + 1, await head()));
    assert.deepEqual(await retention().run(), { pruned: 0, prunedThrough: oldHead, batches: 1 });
    // The attendance record is whole: every check-in stays, and so do the REST reads of them.
    assert.deepEqual(await t.tdb.db('checkins').orderBy('seq').select(), checkins);
    assert.deepEqual((await api(t.hub, 'GET', '/api/v1/checkins?employeeId=E0')).body.data, listed);
  });

  it('a retried punch is still known by its eventId after its event is pruned', async () => {
    const eventId = randomUUID();
    const first = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'E7', type: 'in', eventId });
    assert.equal(first.status, 201);
    await age(t.tdb.db, await head());
    await retention().run();
    assert.equal(await watermark(), await head());
    const again = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'E7', type: 'in', eventId });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.data, first.body.data);
  });

  it('bounds the work of one run; the next run goes on', async () => {
    const from = await head();
    for (let i = 0; i < 60; i++) await punch(`E${i % 8}`);
    await age(t.tdb.db, await head());
    const old = Number((await t.tdb.db('events').where('seq', '>', from).count('* as n').first())!.n);
    assert.ok(old > 100, `${old} events`);
    const run = await retention({ batchSize: 1 }).run();
    assert.equal(run.batches, 100);
    assert.equal(run.pruned, 100);
    assert.equal((await retention().run()).pruned, old - 100);
  });

  it('EVENT_RETENTION_DAYS=0 keeps events forever', async () => {
    const seq = await punch('E1');
    await age(t.tdb.db, seq, 10_000);
    assert.deepEqual(await retention({ days: 0 }).run(), { pruned: 0, prunedThrough: null, batches: 0 });
    assert.ok(await t.tdb.db('events').where({ seq }).first());
  });

  it('a prune batch holds nothing a check-in waits for, and keeps a second pruner out', async () => {
    for (let i = 0; i < 4; i++) await punch(`E${i}`);
    await age(t.tdb.db, await head());
    const before = new Date(Date.now() - DAYS * DAY);
    const trx = await t.tdb.db.transaction();
    try {
      const batch = await pruneEvents(trx, { before, limit: 1000 });
      assert.ok(batch.locked && batch.pruned > 0);
      const { pid } = (await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0];
      // The batch's transaction stays open with every lock it took: its rows, the watermark row, the advisory lock.
      const locks = (await t.tdb.db.raw("SELECT locktype, mode FROM pg_locks WHERE pid = ? AND granted AND locktype IN ('advisory', 'relation')", [pid])).rows;
      assert.ok(locks.some((l: { locktype: string }) => l.locktype === 'advisory'));
      const state = async () => (await t.tdb.db.raw('SELECT state FROM pg_stat_activity WHERE pid = ?', [pid])).rows[0].state;
      assert.equal(await state(), 'idle in transaction');

      const seq = await punch('E4');
      // Committed while the batch is still open: seen from another connection.
      assert.ok(await t.tdb.db('checkins').where({ seq }).first());
      assert.ok(await t.tdb.db('events').where({ seq }).first());
      assert.equal(await state(), 'idle in transaction');
      // Another node's run finds the pruner's lock taken and leaves the work to it.
      assert.deepEqual(await retention().run(), { pruned: 0, prunedThrough: null, batches: 0 });
      await trx.commit();
    } catch (err) {
      await trx.rollback();
      throw err;
    }
    assert.ok((await watermark()) < (await head()));
  });

  it('check-ins go on while a backlog is pruned batch after batch', async () => {
    for (let i = 0; i < 30; i++) await punch(`E${i % 8}`);
    const oldHead = await head();
    await age(t.tdb.db, oldHead);
    let writing = true;
    const written: number[] = [];
    const writer = (async () => {
      for (let i = 0; writing; i++) written.push(await punch(`E${i % 8}`));
    })();
    await until(() => written.length > 0, 10_000, 'a first check-in');
    const run = await retention({ batchSize: 3 }).run();
    const then = written.length;
    await until(() => written.length > then, 10_000, 'a check-in after the run');
    writing = false;
    await writer;
    assert.ok(run.batches > 10, `${run.batches} batches`);
    assert.equal(run.prunedThrough, oldHead);
    assert.equal(Number((await t.tdb.db('checkins').whereIn('seq', written).count('* as n').first())!.n), written.length);
  });

  it('a subscribe whose since is older than what is kept is told since_pruned; one still kept replays without a gap', async () => {
    const pruned = await watermark();
    for (let i = 0; i < 6; i++) await punch(`E${i}`);
    const socket = await connected(t.hub.url, { auth: { token: t.hub.adminToken }, transports: ['websocket'] });
    open.push(socket);
    const refused = await ack<SubscribeAck>(socket, 'subscribe', { sites: ['S1'], since: pruned - 1 });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'since_pruned');
    assert.deepEqual(refused.error.details, { since: pruned - 1, prunedThrough: pruned });

    const dash = recordDashboard(t.hub, { sites: ['S1'], since: pruned });
    open.push(dash.client);
    const expected = (await t.tdb.db('events').where('seq', '>', pruned).andWhere('site_id', 'S1').orderBy('seq').pluck('seq')) as number[];
    await until(() => dash.events.length >= expected.length, 10_000, 'the replay');
    assert.deepEqual(dash.seqs(), expected);
    assert.deepEqual(dash.errors, []);
  });

  it('the client library answers since_pruned with a fresh snapshot, then goes on live, also after a reconnect', async () => {
    const pruned = await watermark();
    const dash = watchWithResets(t.hub, { sites: ['S1'], since: pruned - 1 });
    open.push(dash.client);
    await until(() => dash.resets.length === 1, 10_000, 'a reset');
    assert.deepEqual(dash.subscribed, []);
    assert.deepEqual(dash.errors, []);
    assert.equal(dash.client.lastSeq, dash.resets[0]!.seq);
    assert.deepEqual(dash.resets[0]!.presence, { S1: (await api(t.hub, 'GET', '/api/v1/presence?siteId=S1')).body.data });
    const live = await punch('E2');
    await until(() => dash.events.some((e) => e.seq === live), 10_000, 'the live check-in');
    assert.ok(dash.events.every((e) => e.seq > dash.resets[0]!.seq));

    // Away while everything it had seen is pruned: it resumes from its last seq, is refused, and starts afresh.
    dash.client.socket.disconnect();
    await punch('E3');
    await age(t.tdb.db, await head());
    await retention().run();
    dash.client.socket.connect();
    await until(() => dash.resets.length === 2, 10_000, 'a second reset');
    assert.deepEqual(dash.resets[1]!.presence, { S1: (await api(t.hub, 'GET', '/api/v1/presence?siteId=S1')).body.data });
    const after = await punch('E4');
    await until(() => dash.events.some((e) => e.seq === after), 10_000, 'a live check-in after the reset');
    assert.deepEqual(dash.subscribed, []);
    assert.deepEqual(dash.errors, []);
  });

  it('a node whose stream lacks events that were pruned goes on after them, and its subscribers start afresh', async () => {
    const dash = watchWithResets(t.hub, { sites: ['S1'] });
    open.push(dash.client);
    await until(() => dash.subscribed.length === 1, 10_000, 'the subscribe');
    const seen = await punch('E1');
    await until(() => dash.events.some((e) => e.seq === seen), 10_000, 'a live check-in');

    // Events this node never hears of, committed and pruned at once: as if it had been away for the whole retention period.
    const [from, skipped] = await t.tdb.db.transaction(async (trx) => {
      const at = Number((await trx('event_seq').where({ id: 1 }).forUpdate().first('value')).value);
      const payload = { siteId: 'S1', employeeId: 'E9', present: false, since: null };
      await trx('events').insert([1, 2, 3].map((i) => ({ seq: at + i, kind: 'presence.changed', site_id: 'S1', employee_id: 'E9', data: payload })));
      await trx('event_seq').where({ id: 1 }).update({ value: at + 3 });
      await age(trx, at + 3);
      assert.equal((await pruneEvents(trx, { before: new Date(Date.now() - DAYS * DAY), limit: 10_000 })).prunedThrough, at + 3);
      return [at, at + 3];
    });
    await until(() => t.hub.stream.delivered >= skipped!, 10_000, 'the stream past the pruned events');
    await until(() => dash.resets.length === 1, 10_000, 'the subscriber starting afresh');
    assert.ok(dash.resets[0]!.seq >= skipped!);
    const live = await punch('E2');
    await until(() => dash.events.some((e) => e.seq === live), 10_000, 'a live check-in after the skip');
    assert.ok(!dash.events.some((e) => e.seq > from! && e.seq <= skipped!));
    assert.deepEqual(dash.errors, []);
  });
});

describe('event retention on a running hub', () => {
  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeEmployee(db, { id: 'E1', siteId: 'S1' });
      await storeCheckins(db, [{ employeeId: 'E1', siteId: 'S1', type: 'in', occurredAt: '2026-01-05T08:00:00Z' }]);
      await age(db, await headOf(db));
    },
    env: { EVENT_RETENTION_INTERVAL_SECONDS: '1', EVENT_RETENTION_BATCH: '1' },
  });

  it('prunes shortly after start and again every interval', async () => {
    const db = t.tdb.db;
    await eventually(async () => (await watermarkOf(db)) === (await headOf(db)), 10_000, 'the first run');
    const [seq] = await storeCheckins(db, [{ employeeId: 'E1', siteId: 'S1', type: 'out', occurredAt: '2026-01-05T16:00:00Z' }]);
    await age(db, seq!);
    await eventually(async () => (await watermarkOf(db)) === seq, 10_000, 'a later run');
    assert.equal(Number((await db('checkins').count('* as n').first())!.n), 2);
  });
});

describe('event retention settings', () => {
  it('default to 35 days, every 10 minutes, 1,000 events a batch; 0 days keeps events forever', () => {
    const c = loadConfig({});
    assert.deepEqual([c.EVENT_RETENTION_DAYS, c.EVENT_RETENTION_INTERVAL_SECONDS, c.EVENT_RETENTION_BATCH], [35, 600, 1000]);
    assert.equal(loadConfig({ EVENT_RETENTION_DAYS: '0' }).EVENT_RETENTION_DAYS, 0);
    for (const bad of [{ EVENT_RETENTION_DAYS: '-1' }, { EVENT_RETENTION_DAYS: '1.5' }, { EVENT_RETENTION_INTERVAL_SECONDS: '0' }, { EVENT_RETENTION_BATCH: '0' }])
      assert.throws(() => loadConfig(bad), ConfigError);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
