import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHANGELOG_DIR = path.join(repoRoot, 'liquibase');
export const CHANGELOG_FILE = 'changelog-master.xml';

function cliPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('liquibase/package.json')), 'dist/liquibase/liquibase');
}

/** postgres://user:pass@host:port/db → the JDBC URL and credentials Liquibase takes. */
export function jdbcFromUrl(url: string): { jdbc: string; username: string; password: string } {
  const u = new URL(url);
  const port = u.port || '5432';
  const params = new URLSearchParams(u.search);
  const sslmode = params.get('sslmode');
  const query = sslmode ? `?sslmode=${sslmode}` : '';
  return {
    jdbc: `jdbc:postgresql://${u.hostname}:${port}${u.pathname}${query}`,
    username: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
  };
}

export type LiquibaseOptions = {
  url: string;
  logger: Logger;
  /** Folder holding the changelog; defaults to the hub's liquibase/. */
  searchPath?: string;
  changelogFile?: string;
};

/**
 * Run the real Liquibase CLI (npm package liquibase, pinned) on the machine's Java. Output goes to the
 * log line by line so long migrations show progress; a non-zero exit rejects with Liquibase's last lines.
 */
export function runLiquibase(command: string[], opts: LiquibaseOptions): Promise<string> {
  const { jdbc, username, password } = jdbcFromUrl(opts.url);
  const args = [
    `--search-path=${opts.searchPath ?? CHANGELOG_DIR}`,
    `--changelog-file=${opts.changelogFile ?? CHANGELOG_FILE}`,
    ...command,
  ];
  // Connection settings go through the environment so the password never shows in a process list.
  const env = {
    ...process.env,
    LIQUIBASE_COMMAND_URL: jdbc,
    LIQUIBASE_COMMAND_USERNAME: username,
    LIQUIBASE_COMMAND_PASSWORD: password,
    LIQUIBASE_SHOW_BANNER: 'false',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(cliPath(), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) if (line.trim()) opts.logger.debug({ liquibase: line.trim() }, 'liquibase');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new Error(`could not run Liquibase (${cliPath()}): ${err.message}; is Java 17+ installed?`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(output);
      const tail = output.trim().split('\n').slice(-8).join('\n');
      reject(new Error(`liquibase ${command.join(' ')} failed (exit ${code}):\n${tail}`));
    });
  });
}

export async function migrate(url: string, logger: Logger): Promise<void> {
  const started = Date.now();
  logger.info('applying Liquibase changelog');
  const output = await runLiquibase(['update'], { url, logger });
  const ran = /Run:\s+(\d+)/.exec(output)?.[1] ?? '?';
  logger.info({ changesetsRun: Number(ran), ms: Date.now() - started }, 'database schema is up to date');
}
