import { EventSource } from 'eventsource';
import assert from 'node:assert/strict';
import http from 'node:http';
import { pino } from 'pino';
import type { Knex } from '../server/db/knex.js';
import { createRetention } from '../server/services/retention.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTestHub, startTwoNodes, useTestHub, type TestHub, type TwoNodes } from './support/hub.js';
import { eventually, recordDashboard, until } from './support/live.js';
import { openStream } from './support/sse.js';

const headOf = async (db: Knex) => Number((await db('event_seq').where({ id: 1 }).first('value')).value);
/** Committed events after `since`, in seq order; of one site if named. */
const eventSeqs = async (db: Knex, since: number, site?: string) =>
  (await db('events')
    .where('seq', '>', since)
    .modify((q) => void (site && q.where('site_id', site)))
    .orderBy('seq')
    .pluck('seq')) as number[];

async function seed(db: Knex) {
  await makeSite(db, { id: 'S1' });
  await makeSite(db, { id: 'S2' });
  // A0, A2, … work at S1; A1, A3, … at S2.
  for (let i = 0; i < 10; i++) await makeEmployee(db, { id: `A${i}`, siteId: i % 2 ? 'S2' : 'S1' });
  await makeEmployee(db, { id: 'W1', siteId: 'S1' });
  await db('employees').insert(Array.from({ length: 500 }, (_, i) => ({ id: `B${i}`, name: `B${i}`, site_id: 'S1' })));
}

const punchOn = async (hub: TestHub, employeeId: string, more: object = {}) => {
  const res = await api(hub, 'POST', '/api/v1/checkins', { employeeId, type: 'toggle', ...more });
  assert.equal(res.status, 201, res.text);
  return res.body.data.seq as number;
};

describe('Server-Sent Events: GET /api/v1/events/stream', function () {
  this.timeout(30_000);
  const t = useTestHub({
    seed,
    env: {
      SSE_HEARTBEAT_MS: '100',
      SSE_STREAMS_PER_TOKEN: '3',
      SSE_MAX_BUFFERED_BYTES: String(64 * 1024),
      // A stream outlives the time a request may take to arrive (checked every 0.5 s).
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_HEADERS_TIMEOUT_MS: '500',
    },
  });
  const open: Array<{ close(): void }> = [];
  afterEach(() => open.splice(0).forEach((s) => s.close()));
  const track = <S extends { close(): void }>(s: S) => (open.push(s), s);
  const stream = async (query: string, token: string | null, headers?: Record<string, string>) => track(await openStream(t.hub, query, { token, headers }));
  const punch = (employeeId: string, more?: object) => punchOn(t.hub, employeeId, more);
  const head = () => headOf(t.tdb.db);

  it('replays what matches after since, then goes on live: no hole, no duplicate, each id its seq and each data what a socket gets', async () => {
    const since = await head();
    for (let i = 0; i < 10; i++) await punch(`A${i}`);
    // Enough to replay for a few pages (500 events each).
    const batch = await api(t.hub, 'POST', '/api/v1/checkins/batch', { punches: Array.from({ length: 500 }, (_, i) => ({ employeeId: `B${i}`, type: 'toggle' })) });
    assert.equal(batch.status, 200);
    // Writers keep committing while the stream is placed, replayed to and switched to live.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await punch(`A${i % 10}`);
    })();
    const sse = await stream(`?sites=S1&since=${since}`, await t.hub.token('dashboard', ['S1']));
    assert.equal(sse.status, 200);
    const placed = await head();
    const dash = recordDashboard(t.hub, { sites: ['S1'], since });
    track(dash.client);
    await until(() => sse.seqs().filter((s) => s > placed).length >= 10, 10_000, 'live events');
    writing = false;
    await writer;
    // A sentinel at S1 arrives after everything committed before it.
    const sentinel = await punch('A0');
    await until(() => sse.seqs().includes(sentinel) && dash.seqs().includes(sentinel), 5000, 'the sentinel');
    assert.deepEqual(sse.seqs(), await eventSeqs(t.tdb.db, since, 'S1'));
    assert.deepEqual(sse.events(), dash.events, 'the same envelopes a socket gets');

    const [ready, ...events] = sse.messages;
    assert.deepEqual(ready, { id: String(since), event: 'ready', data: JSON.stringify({ seq: since }) });
    for (const m of events) {
      const e = JSON.parse(m.data);
      assert.deepEqual([m.id, m.event], [String(e.seq), e.name]);
    }
    assert.equal(sse.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(sse.headers.get('cache-control'), 'no-cache');
    assert.equal(sse.headers.get('x-accel-buffering'), 'no');
    const asked = await fetch(`${t.hub.url}/api/v1/events/stream?sites=S1`, { method: 'HEAD', headers: { authorization: `Bearer ${t.hub.adminToken}` } });
    assert.deepEqual([asked.status, asked.headers.get('content-type'), await asked.text()], [200, 'text/event-stream; charset=utf-8', ''], 'a HEAD gets the headers alone');
  });

  it('resumes exactly after Last-Event-ID, which wins over since', async () => {
    const token = await t.hub.token('admin');
    const since = await head();
    const first = await stream(`?since=${since}`, token);
    await punch('A1');
    const seq = await punch('A2');
    await until(() => first.seqs().includes(seq), 5000, 'the live event');
    first.close();
    const got = first.seqs();
    const lastId = first.messages.at(-1)!.id!;
    await punch('A3');
    await punch('A4');
    const again = await stream('?since=0', token, { 'last-event-id': lastId });
    const sentinel = await punch('A5');
    await until(() => again.seqs().includes(sentinel), 5000, 'the sentinel');
    assert.equal(again.messages[0]!.id, lastId, 'placed after the id it was sent');
    assert.deepEqual([...got, ...again.seqs()], await eventSeqs(t.tdb.db, since));
    const bad = await stream('', token, { 'last-event-id': 'x' });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'validation_failed']);
  });

  it('a dashboard of S1 gets S1’s events only, replayed and live, with or without naming it; other sites are refused', async () => {
    const token = await t.hub.token('dashboard', ['S1']);
    const since = await head();
    await punch('A1');
    await punch('A2');
    // W1 works at S1 but checks in at S2: an S2 event.
    await punch('W1', { siteId: 'S2' });
    const all = await stream(`?since=${since}`, token);
    const named = await stream(`?sites=S1&since=${since}`, token);
    const admin = await stream(`?since=${since}`, t.hub.adminToken);
    await punch('A3');
    await punch('W1', { siteId: 'S2' });
    const sentinel = await punch('A4');
    for (const s of [all, named, admin]) await until(() => s.seqs().includes(sentinel), 5000, 'the sentinel');
    const s1 = await eventSeqs(t.tdb.db, since, 'S1');
    assert.deepEqual(all.seqs(), s1);
    assert.deepEqual(named.seqs(), s1);
    assert.deepEqual(admin.seqs(), await eventSeqs(t.tdb.db, since));
    assert.ok(admin.events().filter((e) => e.siteId === 'S2').length >= 4, 'there were S2 events to leave out');

    const refused = async (query: string, who: string | null) => {
      const s = await stream(query, who);
      return [s.status, s.body?.error?.code];
    };
    assert.deepEqual(await refused('?sites=S2', token), [403, 'forbidden']);
    assert.deepEqual(await refused('?sites=S1&sites=S2', token), [403, 'forbidden']);
    assert.deepEqual(await refused('', await t.hub.token('kiosk', ['S1'])), [403, 'forbidden']);
    assert.deepEqual(await refused('', null), [401, 'unauthenticated']);
    assert.deepEqual(await refused('?sites=S9', t.hub.adminToken), [404, 'site_not_found']);
    assert.deepEqual(await refused('?since=-1', t.hub.adminToken), [400, 'validation_failed']);
    assert.deepEqual(await refused('?employees=A1', t.hub.adminToken), [400, 'validation_failed']);
  });

  it('sends a comment line every SSE_HEARTBEAT_MS, and outlives HTTP_REQUEST_TIMEOUT_MS', async () => {
    const sse = await stream('', t.hub.adminToken);
    // 25 heartbeats 100 ms apart span more than twice the request timeout.
    await until(() => sse.comments.filter((c) => c === 'ping').length >= 25, 10_000, '25 heartbeats');
    assert.equal(sse.ended, null);
    const seq = await punch('A6');
    await until(() => sse.seqs().includes(seq), 5000, 'an event after them');
  });

  it('holds at most SSE_STREAMS_PER_TOKEN streams per credential: the next is 429 too_many_streams; one that closes frees its place and leaves nothing behind', async () => {
    const token = await t.hub.token('admin');
    const three = [await stream('', token), await stream('', token), await stream('', token)];
    assert.deepEqual(three.map((s) => s.status), [200, 200, 200]);
    const fourth = await stream('', token);
    assert.deepEqual([fourth.status, fourth.body.error.code], [429, 'too_many_streams']);
    assert.equal((await stream('', await t.hub.token('admin'))).status, 200, 'another credential has places of its own');
    three[0]!.close();
    await eventually(
      async () => {
        const again = await stream('', token);
        again.close();
        return again.status === 200;
      },
      5000,
      'the closed stream’s place freed',
    );
    open.splice(0).forEach((s) => s.close());
    await eventually(async () => (await openStreamsMetric(t.hub)) === 0, 5000, 'no stream left following');
  });

  it('lets go of a reader that leaves more than SSE_MAX_BUFFERED_BYTES unread, and of no other', async () => {
    const token = await t.hub.token('admin');
    const since = await head();
    const slow = track(await stalled(t.hub, token));
    const fast = await stream(`?sites=S1&since=${since}`, token);
    // The third and last place: when the slow reader is let go, a stream of the same token is taken again.
    const third = await stream('', token);
    assert.deepEqual([fast.status, third.status], [200, 200]);
    let rounds = 0;
    await eventually(
      async () => {
        rounds++;
        const batch = await api(t.hub, 'POST', '/api/v1/checkins/batch', { punches: Array.from({ length: 500 }, (_, i) => ({ employeeId: `B${i}`, type: 'toggle' })) });
        assert.equal(batch.status, 200);
        const probe = await stream('', token);
        probe.close();
        return probe.status === 200;
      },
      20_000,
      'the slow reader let go',
    );
    const sentinel = await punch('A0');
    await until(() => fast.seqs().includes(sentinel), 10_000, 'the sentinel at the fast reader');
    assert.equal(fast.ended, null, `the fast reader is still there after ${rounds} rounds`);
    assert.deepEqual(fast.seqs(), await eventSeqs(t.tdb.db, since, 'S1'));
  });

  it('ends a stream whose token is revoked', async () => {
    const made = (await api(t.hub, 'POST', '/api/v1/tokens', { name: 'sse to revoke', role: 'dashboard', sites: ['S1'] })).body.data;
    const sse = await stream('', made.token);
    assert.equal(sse.status, 200);
    assert.equal((await api(t.hub, 'DELETE', `/api/v1/tokens/${made.id}`)).status, 200);
    await until(() => sse.ended !== null, 5000, 'the stream to end');
    assert.equal(sse.ended, 'end');
    assert.equal((await stream('', made.token)).status, 401);
  });
});

describe('Server-Sent Events across nodes', function () {
  this.timeout(60_000);
  let nodes: TwoNodes | undefined;
  const open: Array<{ close(): void }> = [];
  const restarted: TestHub[] = [];
  before(async function () {
    nodes = await startTwoNodes(this, 'sse', seed);
  });
  after(async () => {
    open.forEach((s) => s.close());
    for (const hub of restarted) await hub.stop();
    await nodes?.stop();
  });

  it('a check-in on node B reaches a stream on node A', async () => {
    const { a, b } = nodes!;
    const sse = await openStream(a, '?sites=S1', { token: a.adminToken });
    open.push(sse);
    await until(() => sse.messages.length === 1, 5000, 'ready');
    const seq = await punchOn(b, 'A0');
    await until(() => sse.seqs().includes(seq + 1), 5000, 'the check-in and its presence change');
    assert.deepEqual(sse.seqs(), [seq, seq + 1]);
  });

  it('an EventSource resumes with Last-Event-ID across a restart of its node: nothing missed, nothing twice', async () => {
    const { a, b, tdb, redisUrl, prefix } = nodes!;
    const token = b.adminToken;
    const since = await headOf(tdb.db);
    const raw = await openStream(a, '', { token });
    open.push(raw);
    const es = new EventSource(`${a.url}/api/v1/events/stream?since=${since}`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
    });
    open.push(es);
    let opened = 0;
    const seqs: number[] = [];
    es.addEventListener('ready', () => opened++);
    for (const name of ['checkin.recorded', 'presence.changed'])
      es.addEventListener(name, (m) => {
        const e = JSON.parse(m.data);
        assert.equal(m.lastEventId, String(e.seq));
        seqs.push(e.seq);
      });
    await until(() => opened === 1, 5000, 'the EventSource to open');
    const before = await punchOn(b, 'A1');
    await until(() => seqs.includes(before), 5000, 'a live event');

    // Node A shuts down: its streams are ended, not cut, so it need not wait for them.
    await a.stop();
    assert.equal(raw.ended, 'end');
    const during = [await punchOn(b, 'A2'), await punchOn(b, 'A3')];
    restarted.push(await startTestHub({ db: tdb.db, redisUrl, prefix, env: { PORT: String(a.port) } }));
    await until(() => opened === 2, 15_000, 'the EventSource to reconnect');
    const afterwards = await punchOn(b, 'A4');
    await until(() => seqs.includes(afterwards + 1), 5000, 'a live event after the restart');
    assert.ok(during.every((s) => seqs.includes(s)));
    assert.deepEqual(seqs, await eventSeqs(tdb.db, since));
  });
});

describe('Server-Sent Events and retention', () => {
  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      for (let i = 0; i < 4; i++) await makeEmployee(db, { id: `E${i}`, siteId: 'S1' });
    },
    // The hub's own pruner stays off: the test runs one.
    env: { EVENT_RETENTION_DAYS: '0' },
  });

  it('a since older than what is kept is 410 since_pruned, from the query or Last-Event-ID; one still kept replays', async () => {
    for (let i = 0; i < 6; i++) await punchOn(t.hub, `E${i % 4}`);
    const old = await headOf(t.tdb.db);
    await t.tdb.db.raw("UPDATE events SET created_at = created_at - interval '40 days' WHERE seq <= ?", [old]);
    const run = await createRetention({ db: t.tdb.db, logger: pino({ level: 'silent' }), days: 35, intervalMs: 600_000, batchSize: 1000 }).run();
    assert.equal(run.prunedThrough, old);
    const token = t.hub.adminToken;
    for (const refused of [await openStream(t.hub, `?since=${old - 1}`, { token }), await openStream(t.hub, '?since=0', { token, headers: { 'last-event-id': String(old - 1) } })]) {
      assert.equal(refused.status, 410);
      assert.deepEqual(refused.body.error.details, { since: old - 1, prunedThrough: old });
      assert.equal(refused.body.error.code, 'since_pruned');
    }
    const kept = await openStream(t.hub, `?since=${old}`, { token });
    try {
      const seq = await punchOn(t.hub, 'E0');
      await until(() => kept.seqs().includes(seq + 1), 5000, 'the events after it');
      assert.deepEqual(kept.seqs(), [seq, seq + 1]);
    } finally {
      kept.close();
    }
  });
});

/** The hub's hub_event_streams_open gauge. */
async function openStreamsMetric(hub: TestHub): Promise<number> {
  const text = (await api(hub, 'GET', '/metrics')).text;
  return Number(/^hub_event_streams_open (\d+)$/m.exec(text)![1]);
}

/** A stream whose reader takes the headers and then reads nothing more. */
function stalled(hub: TestHub, token: string): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${hub.url}/api/v1/events/stream`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.pause();
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      resolve({ close: () => req.destroy() });
    });
    req.on('error', () => undefined);
  });
}
