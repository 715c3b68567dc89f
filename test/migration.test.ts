import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createDb } from '../server/db/knex.js';
import { queryOnce } from '../server/db/admin.js';
import { migrate, runLiquibase } from '../server/db/liquibase.js';
import { createEmptyDatabase, createTestDatabase } from './support/db.js';
import { api, startTestHub } from './support/hub.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const HUB_TABLES = ['sites', 'employees', 'events', 'checkins', 'event_seq'];

/** The older Attendance API's own changelog, run the way it ran it: filename migration/db.changelog-master.xml. */
const runLegacyChangelog = (url: string) =>
  runLiquibase(['update'], {
    url,
    logger,
    searchPath: path.join(repoRoot, 'test/fixtures/legacy-service'),
    changelogFile: 'migration/db.changelog-master.xml',
  });

const select = async (url: string, sql: string, params: unknown[] = []) => (await queryOnce(url, sql, params)).rows;

const changelog = (url: string) =>
  select(url, 'SELECT id, author, filename, md5sum, dateexecuted, orderexecuted FROM databasechangelog ORDER BY orderexecuted');

async function tablesPresent(url: string): Promise<string[]> {
  const rows = await select(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1)", [
    HUB_TABLES,
  ]);
  return rows.map((r) => r.table_name).sort();
}

async function recordColumns(url: string): Promise<string[]> {
  const rows = await select(url, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'records'");
  return rows.map((r) => r.column_name).sort();
}

describe('Liquibase migrations', function () {
  this.timeout(120000);

  it('upgrades a database the older service created, keeping its records', async () => {
    const empty = await createEmptyDatabase();
    const db = createDb(empty.url);
    let hub: Awaited<ReturnType<typeof startTestHub>> | undefined;
    try {
      await runLegacyChangelog(empty.url);
      const old = [
        { id: 'E001', name: 'Zoë Ångström', status: 'present', date: '2024-03-01' },
        { id: 'E002', name: 'Bo Chen', status: 'late', date: '2024-03-02' },
        { id: 'E010', name: '', status: 'absent', date: '2024-02-28' },
      ];
      for (const r of old) {
        await queryOnce(empty.url, 'INSERT INTO records (id, name, status, date) VALUES ($1, $2, $3, $4)', [r.id, r.name, r.status, r.date]);
      }

      const before = await changelog(empty.url);
      assert.equal(before.length, 1);
      assert.deepEqual(
        { id: before[0].id, author: before[0].author, filename: before[0].filename },
        { id: '1', author: 'Abhishek Dubey', filename: 'migration/db.changelog-master.xml' },
      );
      // The older file is written differently: its stored checksum is not the hub's, so only validCheckSum ANY lets it pass.
      const reference = await createTestDatabase();
      try {
        const [hubRow] = (await changelog(reference.url)).filter((r) => r.id === '1');
        assert.notEqual(before[0].md5sum, hubRow.md5sum);
      } finally {
        await reference.drop();
      }

      await migrate(empty.url, logger);

      const after = await changelog(empty.url);
      const legacyRows = after.filter((r) => r.id === '1');
      assert.equal(legacyRows.length, 1, 'changeset 1 must not run again');
      assert.equal(legacyRows[0].filename, 'migration/db.changelog-master.xml');
      assert.equal(legacyRows[0].dateexecuted.getTime(), before[0].dateexecuted.getTime());
      assert.ok(after.length > 1);

      const employees = await db('employees').orderBy('id').select('id', 'name');
      assert.deepEqual(employees, [
        { id: 'E001', name: 'Zoë Ångström' },
        { id: 'E002', name: 'Bo Chen' },
        { id: 'E010', name: 'E010' },
      ]);

      hub = await startTestHub({ db });
      for (const r of old) {
        const res = await api(hub, 'GET', `/api/v1/attendance/search?id=${encodeURIComponent(r.id)}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, r);
      }
      const all = await api(hub, 'GET', '/api/v1/attendance/search/all');
      assert.equal(all.status, 200);
      assert.deepEqual(all.body, old);

      const created = await api(hub, 'POST', '/api/v1/attendance/create', { id: 'E001', name: 'Zoë Ångström', status: 'late', date: '2024-03-05' });
      assert.equal(created.status, 200, created.text);
      const latest = await api(hub, 'GET', '/api/v1/attendance/search?id=E001');
      assert.deepEqual(latest.body, { id: 'E001', name: 'Zoë Ångström', status: 'late', date: '2024-03-05' });
      const dates = await db('records').where({ employee_id: 'E001' }).orderBy('date').pluck('date');
      assert.deepEqual(dates, ['2024-03-01', '2024-03-05']);
      const allAfter = await api(hub, 'GET', '/api/v1/attendance/search/all');
      assert.deepEqual(
        allAfter.body.map((r: any) => `${r.id} ${r.date}`),
        ['E001 2024-03-01', 'E001 2024-03-05', 'E002 2024-03-02', 'E010 2024-02-28'],
      );
    } finally {
      await hub?.stop();
      await db.destroy();
      await empty.drop();
    }
  });

  it('refuses, with a clear message, to upgrade records that have no date', async () => {
    const empty = await createEmptyDatabase();
    try {
      await runLegacyChangelog(empty.url);
      await queryOnce(empty.url, "INSERT INTO records (id, name, status, date) VALUES ('E404', 'No Date', 'present', NULL)");

      await assert.rejects(migrate(empty.url, logger), (err: Error) => {
        assert.match(err.message, /records has rows with no date/);
        return true;
      });

      assert.deepEqual(await select(empty.url, 'SELECT id, name, status, date FROM records'), [
        { id: 'E404', name: 'No Date', status: 'present', date: null },
      ]);
      const ids = (await changelog(empty.url)).map((r) => r.id);
      assert.ok(!ids.includes('3-records-per-day'), `changeset 3 must not be recorded, got ${ids.join(', ')}`);
    } finally {
      await empty.drop();
    }
  });

  it('rolls every hub changeset back and forward again', async () => {
    const empty = await createEmptyDatabase();
    try {
      await migrate(empty.url, logger);
      assert.deepEqual(await tablesPresent(empty.url), [...HUB_TABLES].sort());
      const applied = await changelog(empty.url);
      const hubChangesets = applied.filter((r) => r.id !== '1').length;
      assert.equal(hubChangesets, applied.length - 1);

      await runLiquibase(['rollback-count', `--count=${hubChangesets}`], { url: empty.url, logger });
      assert.deepEqual(await tablesPresent(empty.url), []);
      assert.deepEqual(await recordColumns(empty.url), ['date', 'id', 'name', 'status']);
      assert.deepEqual(
        (await changelog(empty.url)).map((r) => r.id),
        ['1'],
      );

      await migrate(empty.url, logger);
      assert.deepEqual(await tablesPresent(empty.url), [...HUB_TABLES].sort());
      assert.ok((await recordColumns(empty.url)).includes('employee_id'));
      assert.equal((await changelog(empty.url)).length, applied.length);
    } finally {
      await empty.drop();
    }
  });

  describe('npm run migrate* (server/db/migrateCli.ts)', () => {
    function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn('npx', ['tsx', 'server/db/migrateCli.ts', ...args], {
          cwd: repoRoot,
          env: { ...process.env, LOG_LEVEL: 'warn', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    }

    it('reports status, rolls back one changeset and applies it again', async () => {
      const tdb = await createTestDatabase();
      try {
        const env = { DATABASE_URL: tdb.url };
        const status = await cli(['status'], env);
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /is up to date/);

        const before = (await changelog(tdb.url)).map((r) => r.id);
        const last = before.at(-1)!;
        const rollback = await cli(['rollback', '1'], env);
        assert.equal(rollback.code, 0, rollback.stderr);
        assert.match(rollback.stdout, new RegExp(`Rolling Back Changeset: changesets/[\\w.-]+::${last}::attendance-hub`));
        assert.deepEqual((await changelog(tdb.url)).map((r) => r.id), before.slice(0, -1));

        const update = await cli(['update'], env);
        assert.equal(update.code, 0, update.stderr);
        assert.deepEqual((await changelog(tdb.url)).map((r) => r.id), before);

        const tooFar = await cli(['rollback', String(before.length)], env);
        assert.equal(tooFar.code, 1);
        assert.match(tooFar.stderr, /would drop the older service's records/);
        assert.deepEqual((await changelog(tdb.url)).map((r) => r.id), before, 'nothing rolled back');
      } finally {
        await tdb.drop();
      }
    });

    it('fails with one line on stderr for bad configuration or arguments', async () => {
      const badUrl = await cli(['status'], { DATABASE_URL: 'mysql://localhost/x' });
      assert.equal(badUrl.code, 1);
      assert.equal(badUrl.stderr.trim().split('\n').length, 1, badUrl.stderr);
      assert.match(badUrl.stderr, /DATABASE_URL/);

      const badCount = await cli(['rollback', '0'], { DATABASE_URL: 'postgres://127.0.0.1:1/none' });
      assert.equal(badCount.code, 1);
      assert.match(badCount.stderr, /positive whole number/);
    });
  });
});
