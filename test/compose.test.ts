import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parse } from 'yaml';
import { loadConfig } from '../server/config.js';
import { queryOnce } from '../server/db/admin.js';
import { CHANGELOG_FILE, jdbcFromUrl, migrate } from '../server/db/liquibase.js';
import { createEmptyDatabase, createTestDatabase } from './support/db.js';
import { startTestHub } from './support/hub.js';

/**
 * docker-compose.yml is checked by reading it (no Docker engine runs here): the services are wired
 * to each other, and the pieces that can run without Docker (the Liquibase settings with the same
 * Liquibase 4.28, the hub's environment, its health check) are run for real.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Service = {
  image?: string;
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string | string[] };
  restart?: string;
  working_dir?: string;
};
type Compose = { version?: unknown; services?: Record<string, Service>; volumes?: Record<string, unknown> };

const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as Compose;
const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  engines: { node: string };
};

function service(name: string): Service {
  const s = compose.services?.[name];
  assert.ok(s, `docker-compose.yml has no service "${name}"`);
  return s;
}

/** A service's environment as strings; values must be quoted strings in the file (no YAML booleans or numbers). */
function environment(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => {
        const i = line.indexOf('=');
        return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
      })
    : Object.entries(env);
  return Object.fromEntries(
    entries.map(([k, v]) => {
      assert.equal(typeof v, 'string', `${name}.environment.${k} should be a string, got ${JSON.stringify(v)}`);
      return [k, v as string];
    }),
  );
}

function envVar(env: Record<string, string>, key: string): string {
  const value = env[key];
  assert.ok(value, `${key} is not set`);
  return value;
}

/** Short-syntax volumes: "source:target[:mode]"; an anonymous volume has only a target. */
function mounts(name: string): Array<{ source: string | null; target: string; mode: string | null }> {
  return (service(name).volumes ?? []).map((spec) => {
    const parts = spec.split(':');
    if (parts.length === 1) return { source: null, target: parts[0]!, mode: null };
    return { source: parts[0]!, target: parts[1]!, mode: parts[2] ?? null };
  });
}

function condition(name: string, dependency: string): string | undefined {
  const deps = service(name).depends_on;
  assert.ok(deps && !Array.isArray(deps), `${name}.depends_on should use the long form with conditions`);
  return deps[dependency]?.condition;
}

function healthcheckArgs(name: string): string[] {
  const test = service(name).healthcheck?.test;
  assert.ok(test, `${name} has no healthcheck`);
  if (typeof test === 'string') return ['CMD-SHELL', test];
  return test;
}

function commandArgs(name: string): string[] {
  const command = service(name).command;
  if (command === undefined) return [];
  return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : command;
}

function imageTag(name: string): string {
  const image = service(name).image;
  assert.ok(image, `${name} has no image`);
  const tag = /^[^:@]+:([^@]+)/.exec(image)?.[1];
  assert.ok(tag && tag !== 'latest', `${name} should pin an image tag, got ${image}`);
  return tag;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('docker-compose.yml', () => {
  it('is a Compose Specification file with the four services', () => {
    assert.equal(compose.version, undefined, 'the Compose Specification has no top-level version');
    for (const name of ['postgres', 'redis', 'liquibase', 'hub']) service(name);
  });

  describe('postgres', () => {
    it('runs PostgreSQL 17 with the attendance database on a named volume', () => {
      assert.match(imageTag('postgres'), /^17(?:[.-]|$)/);
      assert.match(service('postgres').image!, /^postgres:/);
      const env = environment('postgres');
      assert.equal(env.POSTGRES_DB, 'attendance');
      envVar(env, 'POSTGRES_USER');
      envVar(env, 'POSTGRES_PASSWORD');
      const data = mounts('postgres').find((m) => m.target === '/var/lib/postgresql/data');
      assert.ok(data?.source, 'the data directory should be on a volume');
      assert.ok(compose.volumes && data.source in compose.volumes, `volume ${data.source} should be declared at the top level`);
    });

    it('is healthy only when pg_isready reaches the attendance database as its user', () => {
      const env = environment('postgres');
      const args = healthcheckArgs('postgres').join(' ');
      assert.match(args, /\bpg_isready\b/);
      assert.match(args, new RegExp(`-U ${envVar(env, 'POSTGRES_USER')}\\b`));
      assert.match(args, new RegExp(`-d ${envVar(env, 'POSTGRES_DB')}\\b`));
    });
  });

  describe('redis', () => {
    it('runs Redis 7 and is checked with redis-cli ping', () => {
      assert.match(service('redis').image!, /^redis:7(?:[.-]|$)/);
      assert.match(healthcheckArgs('redis').join(' '), /\bredis-cli\b.*\bping\b/);
    });
  });

  describe('liquibase', () => {
    it('uses the same Liquibase major.minor as the pinned npm package', () => {
      assert.match(service('liquibase').image!, /^liquibase\/liquibase:/);
      const npmVersion = packageJson.dependencies.liquibase;
      assert.ok(npmVersion, 'package.json should depend on liquibase');
      const [major, minor] = npmVersion.replace(/^[~^]/, '').split('.');
      assert.equal(`${major}.${minor}`, '4.28');
      const [tagMajor, tagMinor] = imageTag('liquibase').split(/[.-]/);
      assert.equal(`${tagMajor}.${tagMinor}`, `${major}.${minor}`);
    });

    it('mounts ./liquibase read-only and finds the changelog through its search path', () => {
      const env = environment('liquibase');
      const changelog = envVar(env, 'LIQUIBASE_COMMAND_CHANGELOG_FILE');
      assert.equal(changelog, CHANGELOG_FILE, 'same changelog path as `npm run migrate`, so both record the same changeset ids');
      const mount = mounts('liquibase').find((m) => m.source && path.resolve(repoRoot, m.source) === path.join(repoRoot, 'liquibase'));
      assert.ok(mount, 'liquibase should mount ./liquibase');
      assert.equal(mount.mode, 'ro');
      assert.equal(envVar(env, 'LIQUIBASE_SEARCH_PATH'), mount.target);
      assert.ok(fs.statSync(path.join(repoRoot, mount.source!, changelog)).isFile(), `${changelog} should exist in ./liquibase`);
    });

    it('updates the postgres service database as its user, once postgres is healthy, and then exits', () => {
      const pgEnv = environment('postgres');
      const env = environment('liquibase');
      const jdbc = envVar(env, 'LIQUIBASE_COMMAND_URL');
      assert.match(jdbc, /^jdbc:postgresql:\/\//);
      const url = new URL(jdbc.slice('jdbc:'.length));
      assert.equal(url.hostname, 'postgres');
      assert.equal(url.port || '5432', '5432');
      assert.equal(url.pathname, `/${pgEnv.POSTGRES_DB}`);
      assert.equal(env.LIQUIBASE_COMMAND_USERNAME, pgEnv.POSTGRES_USER);
      assert.equal(env.LIQUIBASE_COMMAND_PASSWORD, pgEnv.POSTGRES_PASSWORD);
      assert.deepEqual(commandArgs('liquibase'), ['update']);
      assert.equal(condition('liquibase', 'postgres'), 'service_healthy');
      assert.equal(service('liquibase').restart, 'no');
    });

    it('its settings, run by the npm package’s Liquibase 4.28, apply the changelog as the hub would', async function () {
      this.timeout(120_000);
      const env = environment('liquibase');
      // Map the container's search path back to the host folder mounted there.
      const searchPath = envVar(env, 'LIQUIBASE_SEARCH_PATH')
        .split(',')
        .map((p) => {
          const mount = mounts('liquibase').find((m) => m.source && (p === m.target || p.startsWith(`${m.target}/`)));
          assert.ok(mount, `search path ${p} is not inside a mounted folder`);
          return path.join(path.resolve(repoRoot, mount.source!), p.slice(mount.target.length));
        })
        .join(',');
      const db = await createEmptyDatabase();
      try {
        const { jdbc, username, password } = jdbcFromUrl(db.url);
        const cli = path.join(
          path.dirname(createRequire(import.meta.url).resolve('liquibase/package.json')),
          'dist/liquibase/liquibase',
        );
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
    it('runs the mounted repository on Node 20 with its own node_modules', () => {
      const hub = service('hub');
      assert.equal(hub.image, 'node:20-bookworm-slim');
      assert.match(packageJson.engines.node, /^>=\s*20\b/);
      assert.equal(hub.working_dir, '/app');
      const all = mounts('hub');
      const app = all.find((m) => m.target === '/app');
      assert.ok(app?.source && path.resolve(repoRoot, app.source) === repoRoot, 'the repository should be mounted at /app');
      assert.ok(all.some((m) => m.source === null && m.target === '/app/node_modules'), '/app/node_modules should be an anonymous volume');
      assert.match(commandArgs('hub').join(' '), /npm ci && (?:exec )?npm start/);
    });

    it('starts after Liquibase has finished and Redis is healthy', () => {
      assert.equal(condition('hub', 'liquibase'), 'service_completed_successfully');
      assert.equal(condition('hub', 'redis'), 'service_healthy');
    });

    it('connects to the postgres and redis services with their credentials, and does not migrate', () => {
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
      assert.equal(env.MIGRATE_ON_START, 'false');
    });

    it('has only settings the hub knows, all valid, and publishes the port it listens on', () => {
      const env = environment('hub');
      const config = loadConfig(env); // throws ConfigError on a bad value
      const known = new Set(Object.keys(config)); // loadConfig keeps only its schema's keys
      assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], 'unknown settings are silently ignored by the hub');
      assert.equal(config.MIGRATE_ON_START, false);
      assert.equal(config.HOST, '0.0.0.0');
      assert.equal(config.DATABASE_URL, env.DATABASE_URL);
      assert.equal(config.REDIS_URL, env.REDIS_URL);
      const published = (service('hub').ports ?? []).map((p) => String(p).split(':').at(-1));
      assert.ok(published.includes(String(config.PORT)), `ports ${JSON.stringify(service('hub').ports)} should publish ${config.PORT}`);
    });

    it('its healthcheck passes against a running hub and fails when nothing listens', async function () {
      this.timeout(60_000);
      const args = healthcheckArgs('hub');
      assert.equal(args[0], 'CMD');
      assert.equal(args[1], 'node');
      const script = args[args.indexOf('-e') + 1];
      assert.ok(args.includes('-e') && script, 'the healthcheck should run a node -e script');
      const config = loadConfig(environment('hub'));
      const target = /https?:\/\/[^'"`\s]+/.exec(script)?.[0];
      assert.ok(target, 'the healthcheck script should fetch a URL');
      const url = new URL(target);
      assert.equal(url.hostname, '127.0.0.1');
      assert.equal(url.port, String(config.PORT));

      const database = await createTestDatabase();
      const hub = await startTestHub({ db: database.db });
      try {
        const healthy = await run(process.execPath, ['-e', script.replace(target, `${hub.url}${url.pathname}`)], process.env);
        assert.equal(healthy.code, 0, healthy.output);
      } finally {
        await hub.stop();
        await database.drop();
      }
      const port = new URL(hub.url).port; // closed now
      const unhealthy = await run(process.execPath, ['-e', script.replace(target, `http://127.0.0.1:${port}${url.pathname}`)], process.env);
      assert.equal(unhealthy.code, 1, unhealthy.output);
    });
  });
});
