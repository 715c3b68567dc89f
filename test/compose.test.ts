import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../server/config.js';
import { queryOnce } from '../server/db/admin.js';
import { CHANGELOG_FILE, jdbcFromUrl, migrate } from '../server/db/liquibase.js';
import { createEmptyDatabase } from './support/db.js';
import { useTestHub } from './support/hub.js';
import { freePort } from './support/net.js';

/**
 * docker-compose.yml is checked for the wiring that makes `docker compose up` work (no Docker engine
 * runs here): Compose itself validates the file and normalizes it (`docker-compose config`), the tests
 * read how the services depend on and reach each other, and what can run without Docker (the Liquibase
 * settings, the hub's environment and health check) is run for real.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const composeFile = path.join(repoRoot, 'docker-compose.yml');

/** A service as `docker-compose config` prints it: long-form depends_on, environment as a map, absolute mount sources. */
type Service = {
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | number | null>;
  volumes?: string[];
  ports?: Array<{ published?: number; target: number }>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[] };
  restart?: string;
  working_dir?: string;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  engines: { node: string };
};

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (c: Buffer) => ((stdout += c.toString()), (output += c.toString())));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, output }));
  });
}

describe('docker-compose.yml', () => {
  let compose: Compose;

  // Like Redis: pending without docker-compose, except in CI (.ci/run installs it), where it must run.
  before(async function () {
    const config = await run('docker-compose', ['-f', composeFile, 'config']).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' || process.env.CI === 'true') throw err;
      console.warn('  (docker-compose is not installed: the docker-compose.yml tests are pending)');
      this.skip();
    });
    assert.equal(config.code, 0, config.output);
    compose = parse(config.stdout) as Compose;
  });

  function service(name: string): Service {
    const s = compose.services[name];
    assert.ok(s, `docker-compose.yml has no service "${name}"`);
    return s;
  }

  /** What docker passes to the container: every value a string; an unset one (null) is not wired. */
  function environment(name: string): Record<string, string> {
    return Object.fromEntries(
      Object.entries(service(name).environment ?? {}).map(([k, v]) => {
        assert.notEqual(v, null, `${name}.environment.${k} has no value`);
        return [k, String(v)];
      }),
    );
  }

  function envVar(env: Record<string, string>, key: string): string {
    const value = env[key];
    assert.ok(value, `${key} is not set`);
    return value;
  }

  /** "source:target[:mode]"; an anonymous volume has only a target. */
  function mounts(name: string): Array<{ source: string | null; target: string; mode: string | null }> {
    return (service(name).volumes ?? []).map((spec) => {
      const [first, target, mode] = spec.split(':');
      return target === undefined ? { source: null, target: first!, mode: null } : { source: first!, target, mode: mode ?? null };
    });
  }

  /** The service starts only once `dependency` has reached `condition`: directly, or through a service it waits for. */
  function waitsFor(name: string, dependency: string, condition: string): boolean {
    return Object.entries(service(name).depends_on ?? {}).some(([dep, d]) =>
      dep === dependency ? d.condition === condition : waitsFor(dep, dependency, condition),
    );
  }

  function healthcheck(name: string): string[] {
    const test = service(name).healthcheck?.test;
    assert.ok(test && test[0] !== 'NONE', `${name} has no healthcheck`);
    return typeof test === 'string' ? ['CMD-SHELL', test] : test;
  }

  const commandArgs = (name: string) => {
    const command = service(name).command ?? [];
    return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : command;
  };

  it('is valid for Compose: the schema holds and every service, volume and dependency it names exists', async () => {
    const check = await run('docker-compose', ['-f', composeFile, 'config', '-q']);
    assert.equal(check.code, 0, check.output);
    for (const name of ['postgres', 'redis', 'liquibase', 'hub']) service(name);
  });

  it('starts the hub only once PostgreSQL and Redis are healthy and the Liquibase migration has completed successfully', () => {
    assert.ok(waitsFor('hub', 'postgres', 'service_healthy'), 'hub → postgres healthy');
    assert.ok(waitsFor('hub', 'redis', 'service_healthy'), 'hub → redis healthy');
    assert.ok(waitsFor('hub', 'liquibase', 'service_completed_successfully'), 'hub → liquibase completed');
    assert.ok(waitsFor('liquibase', 'postgres', 'service_healthy'), 'liquibase → postgres healthy');
    // A one-shot job: restarted, it would never have "completed".
    assert.ok([undefined, 'no'].includes(service('liquibase').restart));
  });

  it('has a health check on every service another one waits to be healthy, and on the hub', () => {
    const awaited = Object.values(compose.services).flatMap((s) =>
      Object.entries(s.depends_on ?? {}).filter(([, d]) => d.condition === 'service_healthy').map(([dep]) => dep),
    );
    assert.ok(awaited.length > 0);
    for (const name of new Set([...awaited, 'hub'])) healthcheck(name);
  });

  it('is healthy only once PostgreSQL takes TCP connections to the database, as the user, the others connect with', () => {
    const env = environment('postgres');
    const args = healthcheck('postgres');
    const option = (flag: string) => args[args.indexOf(flag) + 1];
    assert.ok(args.includes('pg_isready'), args.join(' '));
    // The image's first-run init server listens on the socket only: a socket check would pass too early.
    assert.ok(args.includes('-h') && !option('-h')!.startsWith('/'), 'checked over TCP, not the socket');
    assert.equal(option('-U'), envVar(env, 'POSTGRES_USER'));
    assert.equal(option('-d'), envVar(env, 'POSTGRES_DB'));
    const data = mounts('postgres').find((m) => m.target === '/var/lib/postgresql/data');
    assert.ok(data?.source && compose.volumes && data.source in compose.volumes, 'the data directory is on a named volume');
  });

  describe('liquibase', () => {
    it('mounts ./liquibase read-only where its search path finds the changelog the hub applies', () => {
      const env = environment('liquibase');
      const changelog = envVar(env, 'LIQUIBASE_COMMAND_CHANGELOG_FILE');
      assert.equal(changelog, CHANGELOG_FILE, 'the changelog path of `npm run migrate`, so both record the same changeset ids');
      const mount = mounts('liquibase').find((m) => m.source === path.join(repoRoot, 'liquibase'));
      assert.ok(mount, 'liquibase mounts ./liquibase');
      assert.equal(mount.mode, 'ro');
      assert.equal(envVar(env, 'LIQUIBASE_SEARCH_PATH'), mount.target);
      assert.ok(fs.statSync(path.join(mount.source!, changelog)).isFile(), `${changelog} exists in ./liquibase`);
    });

    it("updates the postgres service's database with its credentials, on the Liquibase line of the npm package", () => {
      const pgEnv = environment('postgres');
      const env = environment('liquibase');
      const url = new URL(envVar(env, 'LIQUIBASE_COMMAND_URL').replace(/^jdbc:/, ''));
      assert.equal(url.protocol, 'postgresql:');
      assert.equal(url.hostname, 'postgres');
      assert.equal(url.port || '5432', '5432');
      assert.equal(url.pathname, `/${pgEnv.POSTGRES_DB}`);
      assert.equal(env.LIQUIBASE_COMMAND_USERNAME, pgEnv.POSTGRES_USER);
      assert.equal(env.LIQUIBASE_COMMAND_PASSWORD, pgEnv.POSTGRES_PASSWORD);
      assert.deepEqual(commandArgs('liquibase'), ['update']);
      const majorMinor = (version: string) => version.replace(/^[~^]/, '').split(/[.-]/).slice(0, 2).join('.');
      const tag = /^liquibase\/liquibase:(.+)$/.exec(service('liquibase').image ?? '')?.[1];
      assert.ok(tag, service('liquibase').image);
      assert.equal(majorMinor(tag), majorMinor(packageJson.dependencies.liquibase!));
    });

    it('its settings, run by the npm package’s Liquibase, apply the changelog as the hub would', async function () {
      this.timeout(120_000);
      const env = environment('liquibase');
      // Map the container's search path back to the host folder mounted there.
      const searchPath = envVar(env, 'LIQUIBASE_SEARCH_PATH')
        .split(',')
        .map((p) => {
          const mount = mounts('liquibase').find((m) => m.source && (p === m.target || p.startsWith(`${m.target}/`)));
          assert.ok(mount, `search path ${p} is not inside a mounted folder`);
          return path.join(mount.source!, p.slice(mount.target.length));
        })
        .join(',');
      const db = await createEmptyDatabase();
      try {
        const { jdbc, username, password } = jdbcFromUrl(db.url);
        const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('liquibase/package.json')), 'dist/liquibase/liquibase');
        const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIQUIBASE_')));
        const result = await run(cli, commandArgs('liquibase'), {
          ...inherited,
          ...env,
          LIQUIBASE_COMMAND_URL: jdbc,
          LIQUIBASE_COMMAND_USERNAME: username,
          LIQUIBASE_COMMAND_PASSWORD: password,
          LIQUIBASE_SEARCH_PATH: searchPath,
        });
        assert.equal(result.code, 0, result.output.split('\n').slice(-15).join('\n'));
        assert.doesNotMatch(result.output, /invalid LIQUIBASE_\* environment variables/);

        const changesets = fs
          .readdirSync(path.join(repoRoot, 'liquibase/changesets'))
          .map((f) => fs.readFileSync(path.join(repoRoot, 'liquibase/changesets', f), 'utf8').match(/<changeSet\b/g)?.length ?? 0)
          .reduce((a, b) => a + b, 0);
        assert.ok(changesets > 0);
        const count = async () => Number((await queryOnce(db.url, 'SELECT count(*) AS n FROM databasechangelog')).rows[0].n);
        assert.equal(await count(), changesets);

        // The hub's own migration (npm run migrate / MIGRATE_ON_START) sees the same changesets as applied.
        await migrate(db.url, pino({ level: 'silent' }));
        assert.equal(await count(), changesets);
      } finally {
        await db.drop();
      }
    });
  });

  describe('hub', () => {
    const t = useTestHub();

    it("reaches PostgreSQL and Redis as the compose services, with PostgreSQL's credentials, and leaves migrating to Liquibase", () => {
      const pgEnv = environment('postgres');
      const env = environment('hub');
      const db = new URL(envVar(env, 'DATABASE_URL'));
      assert.match(db.protocol, /^postgres(?:ql)?:$/);
      assert.equal(db.hostname, 'postgres');
      assert.equal(db.port || '5432', '5432');
      assert.equal(decodeURIComponent(db.username), pgEnv.POSTGRES_USER);
      assert.equal(decodeURIComponent(db.password), pgEnv.POSTGRES_PASSWORD);
      assert.equal(db.pathname, `/${pgEnv.POSTGRES_DB}`);
      const redis = new URL(envVar(env, 'REDIS_URL'));
      assert.equal(redis.protocol, 'redis:');
      assert.equal(redis.hostname, 'redis');
      assert.equal(redis.port || '6379', '6379');
      assert.equal(loadConfig(env).MIGRATE_ON_START, false);
    });

    it('has only settings the hub knows, all valid, and listens on all interfaces on the port it publishes', () => {
      const env = environment('hub');
      const config = loadConfig(env); // throws ConfigError on a bad value
      const known = new Set(CONFIG_KEYS);
      assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], 'the hub silently ignores unknown settings');
      assert.equal(config.HOST, '0.0.0.0', 'reachable through the published port from outside the container');
      const published = (service('hub').ports ?? []).filter((p) => p.published !== undefined).map((p) => p.target);
      assert.ok(published.includes(config.PORT), `ports ${JSON.stringify(service('hub').ports)} publish ${config.PORT}`);
    });

    it('runs the mounted repository, with node_modules of its own, on a Node the package supports', () => {
      const hub = service('hub');
      const workdir = hub.working_dir;
      assert.ok(workdir);
      assert.ok(mounts('hub').some((m) => m.source === repoRoot && m.target === workdir), 'the repository is mounted at the working directory');
      assert.ok(mounts('hub').some((m) => m.source === null && m.target === `${workdir}/node_modules`), "the host's node_modules are not the container's");
      const nodeMajor = Number(/^node:(\d+)/.exec(hub.image ?? '')?.[1]);
      const supported = Number(/^>=\s*(\d+)/.exec(packageJson.engines.node)?.[1]);
      assert.ok(nodeMajor >= supported, `${hub.image} for engines ${packageJson.engines.node}`);
    });

    it('its healthcheck passes against a running hub and fails when nothing listens', async function () {
      this.timeout(30_000);
      const args = healthcheck('hub');
      assert.deepEqual(args.slice(0, 3), ['CMD', 'node', '-e']);
      const script = args[3]!;
      const target = /https?:\/\/[^'"`\s]+/.exec(script)?.[0];
      assert.ok(target, 'the healthcheck script fetches a URL');
      const url = new URL(target);
      assert.equal(url.hostname, '127.0.0.1');
      assert.equal(url.port, String(loadConfig(environment('hub')).PORT));

      const healthy = await run(process.execPath, ['-e', script.replace(target, `${t.hub.url}${url.pathname}`)]);
      assert.equal(healthy.code, 0, healthy.output);
      const unhealthy = await run(process.execPath, ['-e', script.replace(target, `http://127.0.0.1:${await freePort()}${url.pathname}`)]);
      assert.equal(unhealthy.code, 1, unhealthy.output);
    });
  });
});
