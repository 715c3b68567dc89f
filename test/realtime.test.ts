import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKioskClient, KioskError } from '../shared/client.js';
import { makeEmployee, makeSite } from './support/factories.js';
import { api, useTestHub } from './support/hub.js';
import { recordDashboard, until, type Recorder } from './support/live.js';

describe('live events on one node: replay, presence, kiosk sockets', () => {
  const open: Array<{ close(): void }> = [];

  const t = useTestHub({
    seed: async (db) => {
      await makeSite(db, { id: 'S1' });
      await makeSite(db, { id: 'S2' });
      for (let i = 0; i < 20; i++) await makeEmployee(db, { id: `A${i}`, siteId: i % 2 ? 'S2' : 'S1' });
    },
  });
  afterEach(() => open.splice(0).forEach((c) => c.close()));

  const punch = (employeeId: string) => api(t.hub, 'POST', '/api/v1/checkins', { employeeId, type: 'toggle' });
  const dbSeqs = async (where: (q: any) => void, after = 0) =>
    (await t.tdb.db('events').where('seq', '>', after).andWhere(where).orderBy('seq').pluck('seq')) as number[];
  const watch = (filter: Parameters<typeof recordDashboard>[1]): Recorder => {
    const r = recordDashboard(t.hub, filter);
    open.push(r.client);
    return r;
  };

  it('subscribing with since replays what matches, then continues live with no hole and no duplicate', async () => {
    for (let i = 0; i < 10; i++) await punch(`A${i}`);
    // Writers keep committing while the dashboard subscribes and its replay is being sent.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await punch(`A${i % 20}`);
    })();
    const dash = watch({ sites: ['S1'], since: 0 });
    await until(() => dash.acks.length === 1);
    // Let the writer go on until events committed after the subscribe have arrived live.
    await until(() => dash.events.filter((e) => e.seq > dash.acks[0]!.seq).length >= 10, 10_000, 'live events');
    writing = false;
    await writer;
    // A sentinel at S1 arrives after everything committed before it.
    const sentinel = (await punch('A0')).body.data.seq;
    await until(() => dash.seqs().includes(sentinel), 5000, 'the sentinel');
    assert.deepEqual(dash.seqs(), await dbSeqs((q) => q.where('site_id', 'S1')));
    assert.ok(dash.events.some((e) => e.name === 'presence.changed'));
    assert.ok(dash.events.every((e) => e.siteId === 'S1' && (e.name !== 'checkin.recorded' || e.payload.siteId === 'S1')));
  });

  it('the ack carries a presence snapshot of the sites, consistent with what follows', async () => {
    await makeEmployee(t.tdb.db, { id: 'P1', siteId: 'S2' });
    const inAt = (await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'P1', type: 'in' })).body.data;
    const dash = watch({ sites: ['S2'] });
    await until(() => dash.acks.length === 1);
    const snapshot = dash.acks[0]!.presence.S2!;
    assert.ok(snapshot.some((p) => p.employeeId === 'P1' && p.since === inAt.occurredAt));
    await api(t.hub, 'POST', '/api/v1/checkins', { employeeId: 'P1', type: 'out' });
    await until(() => dash.events.some((e) => e.name === 'presence.changed' && e.payload.employeeId === 'P1'));
    const change = dash.events.find((e) => e.name === 'presence.changed' && e.payload.employeeId === 'P1')!;
    assert.deepEqual(change.payload, { siteId: 'S2', employeeId: 'P1', present: false, since: null });
  });

  it('subscribes that arrive together share presence snapshots; an unknown site fails only its own', async () => {
    const inS1 = (await api(t.hub, 'GET', '/api/v1/presence?siteId=S1')).body.data;
    const sockets = Array.from({ length: 40 }, () => watch({}));
    await until(() => sockets.every((d) => d.acks.length === 1), 10_000, 'the client library subscribed every socket');
    const transactions = new Set<string>();
    const count = (q: { sql: string; __knexTxId?: string }) => {
      if (/repeatable read/i.test(q.sql) && q.__knexTxId) transactions.add(q.__knexTxId);
    };
    t.tdb.db.on('query', count);
    try {
      const acks = await Promise.all(
        sockets.map((d, i) => d.client.socket.emitWithAck('subscribe', { sites: i === 7 ? ['S1', 'nowhere'] : ['S1'] })),
      );
      acks.forEach((ack, i) => {
        if (i === 7) return assert.equal(!ack.ok && ack.error.code, 'site_not_found');
        assert.ok(ack.ok);
        assert.deepEqual(ack.presence, { S1: inS1 });
      });
      assert.ok(transactions.size <= 10, `40 subscribes sent together took ${transactions.size} snapshot transactions`);
    } finally {
      t.tdb.db.off('query', count);
    }
  });

  it('a subscribe to an unknown site is refused', async () => {
    const dash = watch({ sites: ['nowhere'] });
    await until(() => dash.client.socket.connected);
    const ack = await dash.client.socket.emitWithAck('subscribe', { sites: ['nowhere'] });
    assert.equal(ack.ok, false);
    assert.equal(!ack.ok && ack.error.code, 'site_not_found');
    assert.equal(dash.acks.length, 0, 'the client library was refused too');
  });

  it('a subscribe replaced by a later one before it was answered still gets an ack, saying so', async () => {
    const dash = watch({ sites: ['S1'] });
    await until(() => dash.acks.length === 1);
    const [first, second] = await Promise.all([
      dash.client.socket.emitWithAck('subscribe', { sites: ['S1'] }),
      dash.client.socket.emitWithAck('subscribe', { employees: ['A1'] }),
    ]);
    assert.equal(!first.ok && first.error.code, 'superseded');
    assert.equal(second.ok, true);
    // The client library, asked twice, reports only the answer to the later one. (Both wait on one
    // shared presence snapshot, and the earlier is answered first, so its ack is in by then.)
    dash.client.resubscribe({ sites: ['S1'] });
    dash.client.resubscribe({ employees: ['A1'] });
    await until(() => dash.acks.length === 2);
    assert.deepEqual(dash.errors, []);
    assert.equal(dash.acks.length, 2);
  });

  it('after a dropped connection the client resubscribes from its last seq and misses nothing', async () => {
    const dash = watch({ employees: ['A3'] });
    await until(() => dash.acks.length === 1);
    await punch('A3');
    await until(() => dash.events.length >= 2);
    // Cut the transport; commit while the client is away.
    dash.client.socket.io.engine.close();
    await punch('A3');
    await punch('A3');
    await until(() => dash.acks.length === 2, 10_000, 'resubscribe');
    const expected = await dbSeqs((q) => q.where('employee_id', 'A3'), dash.acks[0]!.seq);
    await until(() => dash.events.length >= expected.length);
    assert.deepEqual(dash.seqs(), expected);
  });

  it('unsubscribe stops the events', async () => {
    const dash = watch({ employees: ['A5'] });
    // A witness with the same filter: it gets A5's events in the same delivery as the dashboard would.
    const witness = watch({ employees: ['A5'] });
    await until(() => dash.acks.length === 1 && witness.acks.length === 1);
    await dash.client.socket.emitWithAck('unsubscribe');
    const seq = (await punch('A5')).body.data.seq;
    await until(() => witness.seqs().includes(seq + 1), 5000, 'the check-in and its presence change at the witness');
    assert.equal(dash.events.length, 0);
  });

  describe('kiosk check-ins over the socket', () => {
    it('run the REST rules and idempotency: a retry with the same eventId is safe', async () => {
      const kiosk = createKioskClient({ url: t.hub.url, token: t.hub.adminToken, socket: { transports: ['websocket'] } });
      open.push(kiosk);
      await makeEmployee(t.tdb.db, { id: 'K1', siteId: 'S1' });
      const eventId = randomUUID();
      const first = await kiosk.checkin({ employeeId: 'K1', type: 'in', eventId });
      assert.equal(first.created, true);
      const retry = await kiosk.checkin({ employeeId: 'K1', type: 'in', eventId });
      assert.equal(retry.created, false);
      assert.deepEqual(retry.data, first.data);
      assert.equal((await t.tdb.db('checkins').where({ employee_id: 'K1' })).length, 1);
      await assert.rejects(kiosk.checkin({ employeeId: 'K1', type: 'in' }), (e: KioskError) => e.error.code === 'already_checked_in');
      await assert.rejects(kiosk.checkin({ employeeId: 'nobody', type: 'in' }), (e: KioskError) => e.error.code === 'unknown_employee');
      const bad = await kiosk.socket.emitWithAck('checkin', { employeeId: 'K1', type: 'sideways' } as never);
      assert.equal(bad.ok, false);
      assert.equal(!bad.ok && bad.error.code, 'validation_failed');
    });
  });
});
