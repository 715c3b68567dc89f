import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../server/config.js';

describe('config', () => {
  it('has sane defaults with nothing set', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 3000);
    assert.equal(c.DATABASE_URL, undefined);
    assert.equal(c.REDIS_URL, undefined);
    assert.equal(c.LOG_LEVEL, 'info');
    assert.equal(c.MIGRATE_ON_START, true);
    assert.equal(c.PIN_ATTEMPTS_MAX, 5);
    assert.equal(c.PIN_ATTEMPTS_WINDOW_SECONDS, 900);
    assert.equal(c.DATA_DIR, path.resolve('.data'));
    // Every wait is bounded by default, each bound a few seconds.
    assert.deepEqual(
      [c.DB_STATEMENT_TIMEOUT_MS, c.DB_QUERY_TIMEOUT_MS, c.DB_ACQUIRE_TIMEOUT_MS, c.DB_CONNECT_TIMEOUT_MS, c.REDIS_COMMAND_TIMEOUT_MS],
      [2500, 3000, 2000, 2000, 500],
    );
    assert.deepEqual([c.BODY_TIMEOUT_MS, c.HTTP_HEADERS_TIMEOUT_MS, c.HTTP_REQUEST_TIMEOUT_MS, c.MAX_CONNECTIONS], [10_000, 10_000, 30_000, 10_000]);
    assert.ok(Object.isFrozen(c));
  });

  it('parses the values it is given, and treats empty values as unset', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      REDIS_URL: 'redis://cache:6379',
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'debug',
      CACHE_TTL_SECONDS: '',
    });
    assert.equal(c.PORT, 8080);
    assert.equal(c.DATABASE_URL, 'postgres://u:p@db:5432/x');
    assert.equal(c.MIGRATE_ON_START, false);
    assert.equal(c.LOG_LEVEL, 'debug');
    assert.equal(c.CACHE_TTL_SECONDS, 60);
  });

  const bad: Array<[string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache'],
    ['LOG_LEVEL', 'loud'],
    ['MIGRATE_ON_START', 'maybe'],
    ['BODY_LIMIT_BYTES', '10'],
    ['PIN_ATTEMPTS_MAX', '0'],
    ['PIN_ATTEMPTS_WINDOW_SECONDS', '1.5'],
    ['DB_QUERY_TIMEOUT_MS', '0'],
    ['REDIS_COMMAND_TIMEOUT_MS', 'soon'],
    ['MAX_CONNECTIONS', '0'],
    ['HTTP_HEADERS_TIMEOUT_MS', '60000'],
  ];
  for (const [name, value] of bad) {
    it(`rejects ${name}=${value} with a message naming it`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) => err instanceof ConfigError && err.message.startsWith(`Invalid ${name}=`),
      );
    });
  }

  it('the hub exits 1 with one clear line on a bad value', () => {
    const tsx = path.resolve('node_modules/.bin/tsx');
    const run = spawnSync(tsx, ['server/index.ts'], {
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: '' },
      encoding: 'utf8',
      timeout: 30000,
    });
    assert.equal(run.status, 1);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^Invalid PORT="eighty": /);
    assert.equal(run.stdout, '');
  });
});
