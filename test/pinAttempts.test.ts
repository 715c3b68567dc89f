import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { Redis } from 'ioredis';
import { io as connect } from 'socket.io-client';
import type { Knex } from '../server/db/knex.js';
import { hashSecret as hashPin } from '../server/crypto.js';
import { makeSite } from './support/factories.js';
import { api, startTwoNodes, useTestHub, type TestHub, type TwoNodes } from './support/hub.js';

const PIN = '4711';
const WRONG = ['0001', '0002', '0003', '0004', '0005', '0006'];

/** Employees `${id}` with badge `B-${id}` and PIN 4711. */
async function seedPinned(db: Knex, ids: string[]) {
  await makeSite(db, { id: 'S1' });
  const pinHash = await hashPin(PIN);
  await db('employees').insert(ids.map((id) => ({ id, name: id, site_id: 'S1', badge: `B-${id}`, pin_hash: pinHash })));
}

const punch = (hub: { url: string }, badge: string, pin: string) => api(hub, 'POST', '/api/v1/checkins', { badge, pin, type: 'toggle' });
const batch = (hub: { url: string }, punches: unknown[]) => api(hub, 'POST', '/api/v1/checkins/batch', { punches });

/** Five wrong PINs (401 each), then the sixth is refused: the badge is locked. */
async function lockOut(hub: { url: string }, badge: string) {
  for (const pin of WRONG.slice(0, 5)) assert.equal((await punch(hub, badge, pin)).body.error.code, 'invalid_pin');
  const sixth = await punch(hub, badge, WRONG[5]!);
  assert.equal(sixth.status, 429);
  assert.equal(sixth.body.error.code, 'pin_attempts_exceeded');
  return sixth;
}

/** The most scrypt hashes running at once while work() runs (each is one SCRYPTREQUEST on the thread pool). */
async function peakHashes(work: () => Promise<unknown>): Promise<number> {
  const live = new Set<number>();
  let peak = 0;
  const hook = createHook({
    init(id, type) {
      if (type !== 'SCRYPTREQUEST') return;
      live.add(id);
      peak = Math.max(peak, live.size);
    },
    after: (id) => void live.delete(id),
  }).enable();
  try {
    await work();
  } finally {
    hook.disable();
  }
  return peak;
}

describe('wrong PIN attempts per badge', function () {
  this.timeout(30_000);

  describe('on one node', () => {
    const t = useTestHub({ seed: (db) => seedPinned(db, ['L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7', ...Array.from({ length: 12 }, (_, i) => `M${i}`)]) });
    const rows = (employeeId: string) => t.tdb.db('checkins').where({ employee_id: employeeId });

    it('the 6th wrong PIN is 429 pin_attempts_exceeded, saying when to retry; then even the right PIN is refused', async () => {
      const sixth = await lockOut(t.hub, 'B-L1');
      assert.match(sixth.body.error.message, /retry in \d+ s/);
      assert.ok(sixth.body.error.details.retryAfterSeconds > 890 && sixth.body.error.details.retryAfterSeconds <= 900);
      const right = await punch(t.hub, 'B-L1', PIN);
      assert.equal(right.status, 429);
      assert.equal(right.body.error.code, 'pin_attempts_exceeded');
      assert.equal((await rows('L1')).length, 0);
    });

    it('locks only that badge: another badge with its right PIN still checks in', async () => {
      await lockOut(t.hub, 'B-L2');
      const other = await punch(t.hub, 'B-L3', PIN);
      assert.equal(other.status, 201);
      assert.equal(other.body.data.employeeId, 'L3');
    });

    it('a batch of 20 wrong PINs for one badge: at most 5 invalid_pin, the rest pin_attempts_exceeded', async () => {
      const punches = Array.from({ length: 20 }, (_, i) => ({ badge: 'B-L4', pin: String(1000 + i), type: 'toggle' }));
      const res = await batch(t.hub, punches);
      assert.equal(res.status, 200, res.text);
      const codes = res.body.data.map((r: any) => r.error?.code);
      const invalid = codes.filter((c: string) => c === 'invalid_pin').length;
      assert.ok(invalid <= 5, `${invalid} PINs were tried`);
      assert.deepEqual(codes.filter((c: string) => c !== 'invalid_pin'), Array(20 - invalid).fill('pin_attempts_exceeded'));
      assert.ok(res.body.data.every((r: any) => r.status === 'rejected'));
      assert.equal((await punch(t.hub, 'B-L4', PIN)).body.error.code, 'pin_attempts_exceeded');
    });

    it('a batch checks a repeated (badge, PIN) once: 20 items of one wrong PIN count as one attempt', async () => {
      const punches = Array.from({ length: 20 }, () => ({ badge: 'B-L5', pin: '9999', type: 'toggle' }));
      const res = await batch(t.hub, punches);
      assert.deepEqual(res.body.data.map((r: any) => r.error?.code), Array(20).fill('invalid_pin'));
      for (const pin of WRONG.slice(0, 4)) assert.equal((await punch(t.hub, 'B-L5', pin)).body.error.code, 'invalid_pin');
      assert.equal((await punch(t.hub, 'B-L5', PIN)).body.error.code, 'pin_attempts_exceeded');
    });

    it('a batch hashes at most 2 PINs at once, and stores every right one', async () => {
      const punches = Array.from({ length: 12 }, (_, i) => ({ badge: `B-M${i}`, pin: PIN, type: 'in' }));
      let res: Awaited<ReturnType<typeof batch>> | undefined;
      const peak = await peakHashes(async () => (res = await batch(t.hub, punches)));
      assert.deepEqual(res!.body.data.map((r: any) => r.status), Array(12).fill('created'));
      assert.ok(peak <= 2, `${peak} hashes ran at once`);
    });

    it('the kiosk socket is refused the same way', async () => {
      await lockOut(t.hub, 'B-L6');
      const socket = connect(t.hub.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: t.hub.adminToken } });
      try {
        const ack: any = await new Promise((resolve) => socket.emit('checkin', { badge: 'B-L6', pin: PIN, type: 'toggle' }, resolve));
        assert.equal(ack.ok, false);
        assert.equal(ack.error.code, 'pin_attempts_exceeded');
      } finally {
        socket.disconnect();
      }
    });
  });

  describe('configured limits', () => {
    const t = useTestHub({ seed: (db) => seedPinned(db, ['C1']), env: { PIN_ATTEMPTS_MAX: '2', PIN_ATTEMPTS_WINDOW_SECONDS: '1' } });

    it('PIN_ATTEMPTS_MAX wrong PINs lock the badge, and the lock ends with PIN_ATTEMPTS_WINDOW_SECONDS', async () => {
      assert.equal((await punch(t.hub, 'B-C1', '0001')).body.error.code, 'invalid_pin');
      assert.equal((await punch(t.hub, 'B-C1', '0002')).body.error.code, 'invalid_pin');
      const locked = await punch(t.hub, 'B-C1', PIN);
      assert.equal(locked.body.error.code, 'pin_attempts_exceeded');
      assert.equal(locked.body.error.details.retryAfterSeconds, 1);
      // The window runs from the first attempt and refused attempts do not extend it: retry the right
      // PIN until it is taken, which must be soon after that one second.
      let res = locked;
      const deadline = Date.now() + 5_000;
      while (res.status === 429 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        res = await punch(t.hub, 'B-C1', PIN);
      }
      assert.equal(res.status, 201, res.text);
    });
  });

  describe('with Redis, across two nodes', () => {
    let nodes: TwoNodes | undefined;
    let a: TestHub;
    let b: TestHub;
    before(async function () {
      nodes = await startTwoNodes(this, 'pin', (db) => seedPinned(db, ['R1']));
      ({ a, b } = nodes);
    });
    after(() => nodes?.stop());

    it('wrong PINs on one node lock the badge on the other; the count lives in Redis', async () => {
      for (const pin of WRONG.slice(0, 3)) assert.equal((await punch(a, 'B-R1', pin)).body.error.code, 'invalid_pin');
      for (const pin of WRONG.slice(3, 5)) assert.equal((await punch(b, 'B-R1', pin)).body.error.code, 'invalid_pin');
      const refused = await punch(b, 'B-R1', PIN);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'pin_attempts_exceeded');
      assert.equal((await punch(a, 'B-R1', PIN)).body.error.code, 'pin_attempts_exceeded');

      const redis = new Redis(nodes!.redisUrl);
      try {
        const key = `${nodes!.prefix}:pin-attempts:B-R1`;
        assert.ok(Number(await redis.get(key)) > 5);
        const ttl = await redis.pttl(key);
        assert.ok(ttl > 0 && ttl <= 900_000, `ttl ${ttl}`);
      } finally {
        redis.disconnect();
      }
    });
  });
});
