import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { queryOnce } from '../server/db/admin.js';
import { startEmbeddedPostgres } from '../server/db/embedded.js';
import { freePort } from './support/net.js';

const logger = pino({ level: 'silent' });
const processGroup = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

describe('embedded PostgreSQL (npm start without DATABASE_URL)', function () {
  this.timeout(120_000);
  let dir: string;
  let holder: ChildProcess | null = null;
  const postmasterPid = () => Number(readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hub-embedded-'));
  });
  after(async () => {
    holder?.kill('SIGKILL');
    const pid = await fs.readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').then((t) => Number(t.split('\n')[0]), () => 0);
    if (pid && alive(pid)) process.kill(pid, 'SIGINT');
    for (let i = 0; i < 100 && pid && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs PostgreSQL in a process group of its own, so a Ctrl-C in the terminal reaches the hub alone', async () => {
    const db = await startEmbeddedPostgres(dir, await freePort(), logger);
    const pid = postmasterPid();
    try {
      assert.notEqual(processGroup(pid), processGroup(process.pid));
      assert.equal((await queryOnce(db.url, 'SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await db.stop();
    }
    assert.equal(alive(pid), false, 'stop() ends it');
  });

  it('refuses a server whose hub still runs, and stops one whose hub died', async () => {
    const port = await freePort();
    holder = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/embeddedHolder.ts', dir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [up] = await once(holder.stdout!, 'data');
    assert.match(String(up), /up/);
    const left = postmasterPid();

    await assert.rejects(startEmbeddedPostgres(dir, port, logger), /belongs to a hub that is still running/);
    assert.ok(alive(left), 'the running hub keeps its database');

    holder.kill('SIGKILL');
    await once(holder, 'exit');
    holder = null;
    assert.ok(alive(left), 'its own process group outlives the hub');

    const db = await startEmbeddedPostgres(dir, port, logger);
    try {
      assert.equal(alive(left), false);
      assert.notEqual(postmasterPid(), left);
      assert.equal((await queryOnce(db.url, 'SELECT 1 AS one')).rows[0].one, 1);
    } finally {
      await db.stop();
    }
  });
});
