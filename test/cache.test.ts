import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRepeatLog } from '../server/logger.js';
import { createCache } from '../server/cache/index.js';
import { RedisStore } from '../server/cache/redisStore.js';
import { MemoryStore, type CacheStore } from '../server/cache/store.js';
import type { TestDatabase } from './support/db.js';
import { api, startTwoNodes, type TestHub, type TwoNodes } from './support/hub.js';
import { dropKeys, requireRedis, uniquePrefix } from './support/redis.js';

const log = createRepeatLog(pino({ level: 'silent' }));

describe('read cache', () => {
  describe('through two nodes sharing Redis', () => {
    let nodes: TwoNodes | undefined;
    let tdb: TestDatabase;
    let a: TestHub;
    let b: TestHub;

    before(async function () {
      nodes = await startTwoNodes(this, 'cache');
      ({ tdb, a, b } = nodes);
    });
    after(() => nodes?.stop());

    const create = (hub: TestHub, id: string, status: string, date = '2026-11-27') =>
      api(hub, 'POST', '/api/v1/attendance/create', { id, name: id, status, date });
    const search = async (hub: TestHub, id: string) => (await api(hub, 'GET', `/api/v1/attendance/search?id=${id}`)).body;

    it('is keyed by id: ?id=B never answers with A', async () => {
      await create(a, 'A', 'present');
      await create(a, 'B', 'absent');
      assert.equal((await search(b, 'A')).id, 'A');
      assert.equal((await search(b, 'B')).id, 'B');
      assert.equal((await search(a, 'B')).status, 'absent');
    });

    it('serves hits from Redis, and a read after an acknowledged write on another node sees the write', async () => {
      await create(a, 'C', 'present');
      assert.equal((await search(b, 'C')).status, 'present');
      // Change the row behind the cache's back: a cached read must not see it...
      await tdb.db('records').where({ employee_id: 'C' }).update({ name: 'changed directly' });
      assert.equal((await search(b, 'C')).name, 'C', 'second read is a cache hit');
      // ...but an acknowledged write through the hub invalidates it on every node.
      await create(a, 'C', 'late');
      const after = await search(b, 'C');
      assert.equal(after.status, 'late');
      for (let i = 0; i < 20; i++) {
        await create(i % 2 ? a : b, 'C', `s${i}`);
        assert.equal((await search(i % 2 ? b : a, 'C')).status, `s${i}`);
      }
    });
  });

  describe('versioned store semantics', () => {
    const stores: Array<[string, (ctx: Mocha.Context) => { store: CacheStore; close: () => Promise<void> }]> = [
      ['memory', () => ({ store: new MemoryStore(), close: async () => {} })],
      [
        'redis',
        (ctx) => {
          const url = requireRedis(ctx);
          const prefix = uniquePrefix('store');
          const redis = new Redis(url);
          return { store: new RedisStore(redis, prefix), close: async () => void (await redis.quit(), await dropKeys(url, prefix)) };
        },
      ],
    ];
    for (const [name, make] of stores) {
      it(`${name}: a reader that raced a writer cannot store the value the writer replaced`, async function () {
        const { store, close } = make(this);
        try {
          const cache = createCache(store, 60, log, { cache: () => undefined });
          let db = 'old';
          let release!: () => void;
          const gate = new Promise<void>((r) => (release = r));
          let readOld!: () => void;
          const oldRead = new Promise<void>((r) => (readOld = r));
          // A slow reader reads the old value, then a writer commits and invalidates, then the reader tries to cache.
          const slow = cache.getOrLoad('k', async () => {
            const seen = db;
            readOld();
            await gate;
            return seen;
          });
          await oldRead;
          db = 'new';
          await cache.invalidate(['k']);
          release();
          assert.equal(await slow, 'old');
          assert.equal(await cache.getOrLoad('k', async () => db), 'new');
          assert.equal(await cache.getOrLoad('k', async () => 'loader must not run on a hit'), 'new');
        } finally {
          await close();
        }
      });
    }
  });
});
