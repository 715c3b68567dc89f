import assert from 'node:assert/strict';
import type { Knex } from '../server/db/knex.js';
import { backoffMs } from '../server/services/webhooks/backoff.js';
import { signature, verifySignature } from '../server/services/webhooks/signature.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, startTestHub, useTestHub, type TestHub } from './support/hub.js';
import { createTestDatabase } from './support/db.js';
import { startHubProcess } from './support/hubProcess.js';
import { eventually, until } from './support/live.js';
import { startReceiver, type Receiver } from './support/receiver.js';

// Retries come quickly here, so the tests see several within a second.
const FAST = { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_MS: '200', WEBHOOK_POLL_MS: '100', WEBHOOK_TIMEOUT_MS: '1000' };

async function seed(db: Knex) {
  await makeSite(db, { id: 'S1' });
  await makeSite(db, { id: 'S2' });
  for (let i = 0; i < 40; i++) await makeEmployee(db, { id: `A${i}`, siteId: 'S1' });
  for (let i = 0; i < 10; i++) await makeEmployee(db, { id: `B${i}`, siteId: 'S2' });
}

describe('webhook rules (pure)', () => {
  it('a signature is HMAC-SHA256 over "<t>.<body>"; it verifies, and not with another secret, body or an old t', () => {
    const at = new Date('2026-12-06T12:00:00Z');
    const header = signature('s3cret-s3cret-s3cret', '{"seq":1}', at);
    // echo -n '1796558400.{"seq":1}' | openssl dgst -sha256 -hmac 's3cret-s3cret-s3cret'
    assert.match(header, /^t=1796558400,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature('s3cret-s3cret-s3cret', '{"seq":1}', header, at), true);
    assert.equal(verifySignature('another-secret-here', '{"seq":1}', header, at), false);
    assert.equal(verifySignature('s3cret-s3cret-s3cret', '{"seq":2}', header, at), false);
    assert.equal(verifySignature('s3cret-s3cret-s3cret', '{"seq":1}', header, new Date(at.getTime() + 301_000)), false);
  });

  it('backoff doubles from the base up to the cap, each wait between half and all of it', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(n, 100, 1000, () => 1)), [100, 200, 400, 800, 1000]);
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(n, 100, 1000, () => 0)), [50, 100, 200, 400, 500]);
    assert.equal(backoffMs(100, 100, 1000, () => 0.5), 750);
  });
});

describe('webhooks: signed, in seq order, every event once acknowledged, across failures and nodes', function () {
  this.timeout(60_000);
  const t = useTestHub({ seed, env: FAST });
  const receivers: Receiver[] = [];
  after(async () => {
    for (const r of receivers) await r.close().catch(() => undefined);
  });
  const receiver = async (answer?: number | 'hang') => {
    const r = await startReceiver(answer);
    receivers.push(r);
    return r;
  };
  let n = 0;
  /** Check people in (A: site S1, B: site S2) and out again, as admin: each punch's seq. */
  const punch = async (employeeId: string, type: 'in' | 'out' = 'in') => {
    const res = await api(t.hub, 'POST', '/api/v1/checkins', { employeeId, type, occurredAt: new Date(Date.now() - 3600_000 + ++n * 1000).toISOString() });
    assert.equal(res.status, 201, res.text);
    return res.body.data.seq as number;
  };
  const create = async (body: object) => {
    const res = await api(t.hub, 'POST', '/api/v1/webhooks', body);
    assert.equal(res.status, 201, res.text);
    return res.body.data as { id: string; secret: string; deliveredThrough: number };
  };
  const webhook = async (id: string) => (await api(t.hub, 'GET', `/api/v1/webhooks/${id}`)).body.data;
  const deliveries = async (id: string) => (await api(t.hub, 'GET', `/api/v1/webhooks/${id}/deliveries?limit=500`)).body.data as Array<{ seq: number | null; ok: boolean; error: string | null; attempt: number }>;
  const isAscending = (seqs: number[]) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]!);

  it('sends what is committed after it was made, filtered by event and site, signed, with the seq as the delivery id', async () => {
    const before = await punch('A0');
    const r = await receiver();
    const hook = await create({ url: r.url, events: ['checkin.recorded'], sites: ['S1'] });
    assert.ok(hook.secret.length >= 16);
    assert.ok(hook.deliveredThrough >= before);
    const seqs = [await punch('A1'), await punch('B0'), await punch('A2')];
    await until(() => r.events().length === 2, 10_000, 'two deliveries');
    assert.deepEqual(
      r.events().map((e) => [e.seq, e.name, e.siteId]),
      [
        [seqs[0], 'checkin.recorded', 'S1'],
        [seqs[2], 'checkin.recorded', 'S1'],
      ],
    );
    for (const got of r.received) {
      assert.equal(got.headers['x-hub-delivery'], String(JSON.parse(got.body).seq));
      assert.equal(got.headers['x-hub-event'], 'checkin.recorded');
      assert.ok(verifySignature(hook.secret, got.body, String(got.headers['x-hub-signature']), new Date()), 'signed with its secret');
    }
    // The same JSON a socket gets for the event.
    const replayed = (await api(t.hub, 'GET', `/api/v1/checkins?employeeId=A1`)).body.data[0];
    assert.deepEqual(r.events()[0]!.payload, Object.fromEntries(Object.entries(replayed).filter(([key]) => key !== 'seq')));
    await eventually(async () => (await webhook(hook.id)).deliveredThrough >= seqs[2]!, 10_000, 'the position past the last event');
  });

  it('a receiver that is down gets every event once it is back, in order; failures are recorded and retried with backoff', async () => {
    const r = await receiver();
    await r.down();
    const hook = await create({ url: r.url, sites: ['S1'], events: ['checkin.recorded'] });
    const seqs: number[] = [];
    for (let i = 3; i < 8; i++) seqs.push(await punch(`A${i}`));
    await eventually(async () => (await deliveries(hook.id)).filter((d) => !d.ok).length >= 3, 10_000, 'three failed attempts');
    const failing = await webhook(hook.id);
    assert.ok(failing.failingSince && failing.lastError && failing.attempts >= 3, JSON.stringify(failing));
    assert.deepEqual(
      (await deliveries(hook.id)).map((d) => [d.seq, d.attempt]).slice(0, 3),
      [
        [seqs[0], 1],
        [seqs[0], 2],
        [seqs[0], 3],
      ],
    );
    await r.up();
    await until(() => r.events().length === seqs.length, 10_000, 'every event');
    assert.deepEqual(
      r.events().map((e) => e.seq),
      seqs,
    );
    await eventually(async () => (await webhook(hook.id)).failingSince === null, 10_000, 'no longer failing');
    // Every delivery is in the log with its status: the first event's failed tries, then each acknowledged one once.
    const log = await deliveries(hook.id);
    assert.deepEqual(
      log.filter((d) => d.ok).map((d) => [d.seq, d.attempt > 1]),
      seqs.map((seq, i) => [seq, i === 0]),
    );
    assert.ok(log.filter((d) => !d.ok).every((d) => d.seq === seqs[0] && d.error));
  });

  it('a failing endpoint and a hanging one hold up neither each other nor a healthy one', async () => {
    const failing = await receiver(500);
    const hanging = await receiver('hang');
    const healthy = await receiver();
    for (const r of [failing, hanging, healthy]) await create({ url: r.url, sites: ['S2'], events: ['checkin.recorded'] });
    const seqs = [await punch('B1'), await punch('B2'), await punch('B3')];
    await until(() => healthy.events().length === 3, 10_000, 'the healthy endpoint has every event');
    assert.deepEqual(
      healthy.events().map((e) => e.seq),
      seqs,
    );
    await until(() => failing.received.length >= 2 && hanging.received.length >= 1, 10_000, 'the others tried');
    // Each retries its first event only: nothing is skipped while it fails.
    assert.deepEqual([...new Set(failing.events().map((e) => e.seq))], [seqs[0]]);
    assert.deepEqual([...new Set(hanging.events().map((e) => e.seq))], [seqs[0]]);
  });

  it('a receiver that finds the signature wrong refuses every delivery until the secret is put right; then it gets them all, in order', async () => {
    const secret = 'the-receivers-own-secret';
    const strict = await startReceiver(204, { accepts: (got) => verifySignature(secret, got.body, String(got.headers['x-hub-signature']), new Date()) });
    receivers.push(strict);
    const hook = await create({ url: strict.url, sites: ['S1'], events: ['checkin.recorded'], secret: 'a-different-secret-entirely' });
    const seqs = [await punch('A30'), await punch('A31')];
    await eventually(async () => (await deliveries(hook.id)).some((d) => d.error === 'HTTP 401'), 10_000, 'refused as unsigned');
    assert.equal((await api(t.hub, 'PATCH', `/api/v1/webhooks/${hook.id}`, { secret })).status, 200);
    await until(() => strict.events().filter((e) => e.seq === seqs[1]).length === 1, 10_000, 'accepted');
    // Refused deliveries were not acknowledged: only the first event was tried before, and it is the one sent again.
    assert.deepEqual([...new Set(strict.events().map((e) => e.seq))], seqs);
    assert.deepEqual(
      strict.events().map((e) => e.seq).slice(-2),
      seqs,
    );
  });

  it('a slow receiver (answering within the timeout) gets every event in order, one request at a time', async () => {
    const slow = await startReceiver(200, { delayMs: 150 });
    receivers.push(slow);
    await create({ url: slow.url, sites: ['S1'], events: ['checkin.recorded'] });
    const seqs: number[] = [];
    for (let i = 32; i < 37; i++) seqs.push(await punch(`A${i}`));
    await until(() => slow.events().length === seqs.length, 10_000, 'every event');
    assert.deepEqual(
      slow.events().map((e) => e.seq),
      seqs,
    );
    assert.equal(slow.mostOpen(), 1);
  });

  it('redelivers from a seq on request, in order; a test ping is signed and recorded', async () => {
    const r = await receiver();
    const hook = await create({ url: r.url, sites: ['S1'], events: ['checkin.recorded'] });
    const first = await punch('A8');
    const second = await punch('A9');
    await until(() => r.events().length === 2, 10_000, 'two deliveries');
    const res = await api(t.hub, 'POST', `/api/v1/webhooks/${hook.id}/redeliver`, { fromSeq: first });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.deliveredThrough, first - 1);
    await until(() => r.events().length === 4, 10_000, 'sent again');
    assert.deepEqual(
      r.events().map((e) => e.seq),
      [first, second, first, second],
    );

    const ping = await api(t.hub, 'POST', `/api/v1/webhooks/${hook.id}/ping`);
    assert.deepEqual({ ok: ping.body.data.ok, status: ping.body.data.status }, { ok: true, status: 204 });
    const pinged = r.received.at(-1)!;
    assert.equal(pinged.headers['x-hub-event'], 'ping');
    assert.ok(verifySignature(hook.secret, pinged.body, String(pinged.headers['x-hub-signature']), new Date()));
    assert.equal((await deliveries(hook.id)).at(-1)!.seq, null);
  });

  it('admins only; bad input is a 400 and writes nothing; unknown ids 404', async () => {
    const manager = await t.hub.token('manager', ['S1']);
    const refused = await api(t.hub, 'GET', '/api/v1/webhooks', undefined, { authorization: `Bearer ${manager}` });
    assert.equal(refused.status, 403);
    const count = async () => (await t.tdb.db('webhooks').count<{ count: string }[]>('* as count'))[0]!.count;
    const before = await count();
    for (const body of [
      { url: 'http://example.com/hook' },
      { url: 'ftp://127.0.0.1/hook' },
      { url: 'https://user:pw@example.com/hook' },
      { url: 'https://example.com/hook', events: ['nope'] },
      { url: 'https://example.com/hook', secret: 'short' },
      { url: 'https://example.com/hook', extra: 1 },
    ]) {
      const res = await api(t.hub, 'POST', '/api/v1/webhooks', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed');
    }
    assert.equal((await api(t.hub, 'POST', '/api/v1/webhooks', { url: 'https://example.com/hook', sites: ['NOPE'] })).body.error.code, 'unknown_site');
    assert.equal(await count(), before);
    const missing = '00000000-0000-4000-8000-000000000000';
    assert.equal((await api(t.hub, 'GET', `/api/v1/webhooks/${missing}`)).body.error.code, 'webhook_not_found');
    assert.equal((await api(t.hub, 'POST', `/api/v1/webhooks/${missing}/redeliver`, { fromSeq: 1 })).body.error.code, 'webhook_not_found');
  });
});

describe('webhooks: disabled after failing too long, and re-enabled where they stopped', function () {
  this.timeout(30_000);
  const t = useTestHub({ seed, env: { ...FAST, WEBHOOK_DISABLE_AFTER_SECONDS: '1' } });

  it('an endpoint failing for longer than allowed is disabled with why; re-enabled, it gets what it missed', async () => {
    const r = await startReceiver(503);
    try {
      const hook = (await api(t.hub, 'POST', '/api/v1/webhooks', { url: r.url, events: ['checkin.recorded'] })).body.data;
      const seq = (await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'A0', type: 'in' })).body.data.seq;
      await eventually(async () => (await api(t.hub, 'GET', `/api/v1/webhooks/${hook.id}`)).body.data.active === false, 10_000, 'disabled');
      const disabled = (await api(t.hub, 'GET', `/api/v1/webhooks/${hook.id}`)).body.data;
      assert.match(disabled.disabledReason, /^failing since .*: HTTP 503$/);
      const tries = r.received.length;
      r.answer(200);
      // A witness endpoint made now: once it has the next event, the dispatcher has looked at every endpoint since.
      const witness = await startReceiver();
      let after = 0;
      try {
        assert.equal((await api(t.hub, 'POST', '/api/v1/webhooks', { url: witness.url, events: ['checkin.recorded'] })).status, 201);
        after = (await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'A1', type: 'in' })).body.data.seq;
        await until(() => witness.events().some((e) => e.seq === after), 10_000, 'the witness has the event');
        // Disabled: the endpoint was sent nothing, though its receiver answers again.
        assert.equal(r.received.length, tries);
        assert.ok((await api(t.hub, 'GET', `/api/v1/webhooks/${hook.id}`)).body.data.deliveredThrough < after);
      } finally {
        await witness.close();
      }
      assert.equal((await api(t.hub, 'PATCH', `/api/v1/webhooks/${hook.id}`, { active: true })).status, 200);
      await until(() => r.events().length >= tries + 2, 10_000, 'caught up');
      assert.deepEqual(
        r.events().slice(tries).map((e) => e.seq),
        [seq, after],
      );
    } finally {
      await r.close();
    }
  });
});

describe('webhooks across nodes: one node at a time per endpoint, and a crashed node’s endpoint is taken over', function () {
  this.timeout(90_000);
  const t = useTestHub({ seed, env: { ...FAST, WEBHOOK_TIMEOUT_MS: '500' } });
  let other: TestHub | undefined;
  after(async () => other?.stop());

  it('two nodes never send to one endpoint at once, nor the same event twice when it was acknowledged', async () => {
    other = await startTestHub({ db: t.tdb.db, env: { ...FAST, WEBHOOK_TIMEOUT_MS: '500' } });
    const r = await startReceiver();
    try {
      await api(t.hub, 'POST', '/api/v1/webhooks', { url: r.url, events: ['checkin.recorded'] });
      const seqs: number[] = [];
      for (let i = 10; i < 30; i++) seqs.push((await api(i % 2 ? t.hub : other, 'POST', '/api/v1/checkins', { employeeId: `A${i}`, type: 'in' })).body.data.seq);
      await until(() => r.events().length >= seqs.length, 15_000, 'every event');
      assert.deepEqual(
        r.events().map((e) => e.seq),
        seqs,
      );
      assert.equal(r.mostOpen(), 1);
    } finally {
      await r.close();
    }
  });

  it('a node killed while delivering: another node takes the endpoint once its lease runs out, and sends what was not acknowledged', async () => {
    // A database of its own, so that the process is the only node until it dies.
    const tdb = await createTestDatabase();
    await seed(tdb.db);
    const r = await startReceiver('hang');
    const dead = await startHubProcess(tdb.url, { ...FAST, WEBHOOK_TIMEOUT_MS: '30000' });
    let successor: TestHub | undefined;
    try {
      const made = await api(dead, 'POST', '/api/v1/webhooks', { url: r.url, events: ['checkin.recorded'], sites: ['S2'] });
      assert.equal(made.status, 201, made.text);
      const punched = await api(dead, 'POST', '/api/v1/checkins', { employeeId: 'B5', type: 'in' });
      assert.equal(punched.status, 201, punched.text);
      const seq = punched.body.data.seq;
      await until(() => r.received.length === 1, 10_000, 'the process is sending');
      dead.child.kill('SIGKILL');
      await dead.exited;
      r.answer(204);
      // Its lease was 3 × 30 s: expire it now rather than wait (what the clock would do).
      assert.equal(await tdb.db('webhooks').where({ id: made.body.data.id }).whereNotNull('lease_owner').update({ lease_until: tdb.db.raw(`now() - interval '1 second'`) }), 1);
      successor = await startTestHub({ db: tdb.db, env: FAST });
      await until(() => r.events().length === 2, 15_000, 'sent again by the node that took over');
      assert.deepEqual(
        r.events().map((e) => e.seq),
        [seq, seq],
      );
      await eventually(async () => Number((await tdb.db('webhooks').where({ id: made.body.data.id }).first()).delivered_through) >= seq, 10_000, 'acknowledged');
    } finally {
      await dead.kill();
      await successor?.stop();
      await r.close();
      await tdb.drop();
    }
  });
});
