import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import * as esbuild from 'esbuild';
import { builtinModules } from 'node:module';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../server/config.js';
import { queryOnce } from '../server/db/admin.js';
import { CHANGELOG_FILE, jdbcFromUrl, migrate } from '../server/db/liquibase.js';
import { PAGES_DIST } from '../server/routes/pages/pages.js';
import { createEmptyDatabase } from './support/db.js';
import { useTestHub } from './support/hub.js';
import { freePort } from './support/net.js';

/**
 * docker-compose.yml, the Dockerfile it builds the hubs from and the nginx files it mounts are checked
 * for the wiring that makes `docker compose up` work (no Docker engine runs here): Compose itself
 * validates the file and normalizes it (`docker-compose config`), the tests read how the services
 * depend on and reach each other, and what can run without Docker (the Liquibase settings, the hub's
 * environment, its health check and start command) is run for real. nginx.conf itself is run in
 * test/nginx.test.ts.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const composeFile = path.join(repoRoot, 'docker-compose.yml');
const nginxDir = path.join(repoRoot, 'deploy/nginx');
const HUBS = ['hub1', 'hub2'];

/** A service as `docker-compose config` prints it: long-form depends_on, environment as a map, absolute mount sources. */
type Service = {
  image?: string;
  build?: { context: string; dockerfile?: string };
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

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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

  const dockerfile = DockerfileParser.parse(fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
  const dockerfileArgs = (keyword: string) => dockerfile.getInstructions().filter((i) => i.getKeyword() === keyword).flatMap((i) => i.getArguments().map((a) => a.getValue()));
  /** The image's CMD, in exec form (JSON), as Docker reads it. */
  const cmdArgs = (): string[] => JSON.parse(dockerfile.getCMDs().at(-1)!.getArgumentsContent()!);

  const commandArgs = (name: string) => {
    const command = service(name).command ?? [];
    return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : command;
  };

  it('is valid for Compose: the schema holds and every service, volume and dependency it names exists', async () => {
    const check = await run('docker-compose', ['-f', composeFile, 'config', '-q']);
    assert.equal(check.code, 0, check.output);
    for (const name of ['postgres', 'redis', 'liquibase', ...HUBS, 'nginx']) service(name);
  });

  it('starts the hubs only once PostgreSQL and Redis are healthy and the Liquibase migration has completed successfully', () => {
    for (const hub of HUBS) {
      assert.ok(waitsFor(hub, 'postgres', 'service_healthy'), `${hub} → postgres healthy`);
      assert.ok(waitsFor(hub, 'redis', 'service_healthy'), `${hub} → redis healthy`);
      assert.ok(waitsFor(hub, 'liquibase', 'service_completed_successfully'), `${hub} → liquibase completed`);
    }
    assert.ok(waitsFor('liquibase', 'postgres', 'service_healthy'), 'liquibase → postgres healthy');
    // A one-shot job: restarted, it would never have "completed".
    assert.ok([undefined, 'no'].includes(service('liquibase').restart));
  });

  it('has a health check on every service another one waits to be healthy: its own, or its image’s', () => {
    const awaited = Object.values(compose.services).flatMap((s) =>
      Object.entries(s.depends_on ?? {}).filter(([, d]) => d.condition === 'service_healthy').map(([dep]) => dep),
    );
    assert.deepEqual(new Set(awaited), new Set(['postgres', 'redis', ...HUBS]));
    for (const name of new Set(awaited)) {
      if (service(name).build) assert.equal(service(name).healthcheck, undefined, `${name} keeps the Dockerfile's HEALTHCHECK`);
      else healthcheck(name);
    }
    assert.equal(dockerfile.getHEALTHCHECKs().length, 1);
  });

  it('pins every image to an exact version', () => {
    const images = [...Object.values(compose.services).flatMap((s) => s.image ?? []), ...dockerfile.getFROMs().map((f) => f.getImage() ?? '')];
    assert.ok(images.length >= 6, images.join(', '));
    // postgres versions are major.minor; the others major.minor.patch. A variant (-bookworm) may follow.
    for (const image of images) assert.match(image, image.startsWith('postgres:') ? /:\d+\.\d+-[a-z]+$/ : /:\d+\.\d+\.\d+(-[a-z-]+)?$/, image);
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

  describe('hub1 and hub2', () => {
    const t = useTestHub();

    it('are one node twice: built from ./Dockerfile, with the same settings', () => {
      for (const hub of HUBS) {
        assert.equal(service(hub).build?.context, repoRoot, `${hub} builds from the repository`);
        assert.ok([undefined, 'Dockerfile'].includes(service(hub).build?.dockerfile), `${hub} builds ./Dockerfile`);
        assert.equal(service(hub).image, undefined, `${hub} runs what it builds`);
      }
      assert.deepEqual(environment('hub2'), environment('hub1'));
    });

    it("reach PostgreSQL and Redis as the compose services, with PostgreSQL's credentials, and leave migrating to Liquibase", () => {
      const pgEnv = environment('postgres');
      const env = environment('hub1');
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

    it('have only settings the hub knows, all valid; listen on all interfaces and are reached through nginx alone', () => {
      const env = environment('hub1');
      const config = loadConfig(env); // throws ConfigError on a bad value
      const known = new Set(CONFIG_KEYS);
      assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], 'the hub silently ignores unknown settings');
      assert.equal(config.HOST, '0.0.0.0', 'reachable by nginx from its own container');
      // TRUST_PROXY=1 takes the client's address from what nginx appends: a published hub port would let
      // clients write their own.
      assert.equal(config.TRUST_PROXY, 1);
      for (const hub of HUBS) assert.deepEqual(service(hub).ports ?? [], [], `${hub} publishes no port`);
      assert.ok(dockerfileArgs('EXPOSE').includes(String(config.PORT)), 'the image exposes the port the hubs listen on');
    });

    it("the image's healthcheck passes against a running hub and fails when nothing listens", async function () {
      this.timeout(30_000);
      const [subcommand, ...json] = dockerfile.getHEALTHCHECKs()[0]!.getArgumentsContent()!.split(' ');
      assert.equal(subcommand, 'CMD');
      const args = JSON.parse(json.join(' ')) as string[];
      assert.deepEqual(args.slice(0, 2), ['node', '-e']);
      const healthy = await run(args[0]!, args.slice(1), { ...process.env, PORT: new URL(t.hub.url).port });
      assert.equal(healthy.code, 0, healthy.output);
      const unhealthy = await run(args[0]!, args.slice(1), { ...process.env, PORT: String(await freePort()) });
      assert.equal(unhealthy.code, 1, unhealthy.output);
    });
  });

  describe('the Dockerfile', () => {
    const stages = () => {
      const froms = dockerfile.getFROMs();
      const lines = froms.map((f) => f.getRange().start.line);
      const of = (i: number) => dockerfile.getInstructions().filter((x) => x.getRange().start.line >= lines[i]! && x.getRange().start.line < (lines[i + 1] ?? Infinity));
      return { froms, build: of(0), runtime: of(froms.length - 1) };
    };
    const runs = (instructions: Instruction[]) => instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');

    it('builds the pages in a build stage and runs from node:*-bookworm-slim with production dependencies only', () => {
      const { froms, build, runtime } = stages();
      assert.equal(froms.length, 2);
      const stage = froms[0]!.getBuildStage();
      assert.ok(stage, 'the build stage is named');
      assert.ok(runs(build).some((r) => /\bnpm ci\b/.test(r)) && runs(build).some((r) => /\bnpm run build\b/.test(r)), runs(build).join(' | '));
      const runtimeFrom = froms[1]!;
      assert.equal(runtimeFrom.getImageName(), 'node');
      assert.match(runtimeFrom.getImageTag() ?? '', /-bookworm-slim$/);
      const nodeMajor = Number(/^(\d+)\./.exec(runtimeFrom.getImageTag() ?? '')?.[1]);
      const supported = Number(/^>=\s*(\d+)/.exec(packageJson.engines.node)?.[1]);
      assert.ok(nodeMajor >= supported, `node ${nodeMajor} for engines ${packageJson.engines.node}`);
      assert.ok(runs(runtime).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), runs(runtime).join(' | '));
      // The pages come built from the build stage, where the server looks for them.
      const copied = dockerfile.getCOPYs().filter((c) => c.getFromFlag()?.getValue() === stage && runtime.includes(c));
      const dist = path.relative(repoRoot, PAGES_DIST);
      const workdir = (stage: Instruction[]) => stage.filter((i) => i.getKeyword() === 'WORKDIR').at(-1)?.getArgumentsContent() ?? '/';
      const [from, to] = [workdir(build), workdir(runtime)].map((dir) => path.posix.join(dir, dist));
      const copiesDist = (i: Instruction) => {
        const args = i.getArguments().map((a) => a.getValue());
        return path.posix.resolve(workdir(build), args[0]!) === from && path.posix.resolve(workdir(runtime), args.at(-1)!) === to;
      };
      assert.ok(copied.some(copiesDist), `copies ${dist} from the build stage`);
    });

    it('runs as a user other than root, exposes the port, stops on SIGTERM and starts the hub with tsx, never migrating', () => {
      const { runtime } = stages();
      const user = runtime.filter((i) => i.getKeyword() === 'USER').at(-1)?.getArgumentsContent();
      assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
      assert.deepEqual(dockerfileArgs('STOPSIGNAL'), ['SIGTERM']);
      const env = Object.fromEntries(dockerfile.getENVs().flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])));
      const config = loadConfig({ ...env, DATABASE_URL: 'postgres://x@db/x' });
      assert.equal(config.MIGRATE_ON_START, false, 'the image has no Java: Liquibase migrates');
      assert.equal(config.HOST, '0.0.0.0');
      assert.ok(dockerfileArgs('EXPOSE').includes(String(config.PORT)));
      const cmd = cmdArgs();
      assert.match(cmd.at(-1)!, /\bnode --import tsx server\/index\.ts$/);
      assert.ok(packageJson.dependencies.tsx, 'tsx is a runtime dependency');
    });

    it('refuses to start without DATABASE_URL, saying so, instead of looking for an embedded PostgreSQL', async () => {
      const [shell, ...args] = cmdArgs();
      const { DATABASE_URL: _, ...env } = process.env;
      const result = await run(shell!, args, env, repoRoot);
      assert.notEqual(result.code, 0);
      assert.match(result.output, /DATABASE_URL is required/);
      assert.doesNotMatch(result.output, /embedded/);
    });

    it('needs no package at run time that `npm ci --omit=dev` leaves out', async () => {
      // esbuild follows every import from the entry point; the packages are what stays outside.
      const bundle = await esbuild.build({ entryPoints: [path.join(repoRoot, 'server/index.ts')], bundle: true, packages: 'external', platform: 'node', format: 'esm', metafile: true, write: false, logLevel: 'silent' });
      const builtins = new Set(builtinModules);
      const packages = new Set(
        Object.values(bundle.metafile.inputs)
          .flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path))
          .filter((p) => !p.startsWith('node:') && !builtins.has(p))
          .map((p) => (p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!)),
      );
      assert.ok(packages.has('koa'), [...packages].join(', '));
      assert.deepEqual([...packages].filter((p) => !packageJson.dependencies[p]), [], 'imported by the server but not a dependency');
    });

    it('.dockerignore keeps local state and history out of the build context', () => {
      const ignored = new Set(fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
      for (const entry of ['node_modules', '.data', 'test-output', '.git', path.relative(repoRoot, PAGES_DIST)]) assert.ok(ignored.has(entry), entry);
    });
  });

  describe('nginx', () => {
    const listenPort = () => Number(/^\s*listen\s+(?:[\d.]+:)?(\d+)\s*;/m.exec(fs.readFileSync(path.join(nginxDir, 'listen.conf'), 'utf8'))?.[1]);

    it('is the one way in: it publishes the port it listens on, once both hubs are healthy', () => {
      const published = (service('nginx').ports ?? []).filter((p) => p.published !== undefined).map((p) => p.target);
      assert.deepEqual(published, [listenPort()]);
      for (const hub of HUBS) assert.equal(service('nginx').depends_on?.[hub]?.condition, 'service_healthy', `nginx → ${hub} healthy`);
    });

    it('runs deploy/nginx as mounted read-only: nginx.conf and the files it includes', () => {
      const main = fs.readFileSync(path.join(nginxDir, 'nginx.conf'), 'utf8');
      const included = [...main.matchAll(/^\s*include\s+([^\s;]+)\s*;/gm)].map((m) => m[1]!);
      assert.deepEqual(included.sort(), ['listen.conf', 'upstreams.conf']);
      for (const file of ['nginx.conf', ...included]) {
        const mount = mounts('nginx').find((m) => m.source === path.join(nginxDir, file));
        assert.ok(mount, `nginx mounts deploy/nginx/${file}`);
        // nginx resolves an include beside its main file.
        assert.equal(mount.target, `/etc/nginx/${file}`);
        assert.equal(mount.mode, 'ro');
      }
    });

    it('sends each upstream nginx.conf uses to every hub, on the port the hubs listen on', () => {
      const main = fs.readFileSync(path.join(nginxDir, 'nginx.conf'), 'utf8');
      const used = new Set([...main.matchAll(/proxy_pass\s+http:\/\/([\w-]+)/g)].map((m) => m[1]!));
      const upstreams = new Map(
        [...fs.readFileSync(path.join(nginxDir, 'upstreams.conf'), 'utf8').matchAll(/upstream\s+([\w-]+)\s*\{([^}]*)\}/g)].map((m) => [
          m[1]!,
          [...m[2]!.matchAll(/^\s*server\s+([^\s;]+)/gm)].map((s) => s[1]!).sort(),
        ]),
      );
      assert.deepEqual(new Set(upstreams.keys()), used);
      const port = loadConfig(environment('hub1')).PORT;
      for (const [name, servers] of upstreams) assert.deepEqual(servers, HUBS.map((h) => `${h}:${port}`), name);
    });
  });
});
