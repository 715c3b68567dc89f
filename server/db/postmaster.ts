import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';

export type Postmaster = { stop(): Promise<void> };

type Options = {
  binDir: string;
  dataDir: string;
  port: number;
  /** As root, PostgreSQL must run as this system user. */
  runAs?: string;
  ownProcessGroup: boolean;
  /** Each line PostgreSQL writes to stderr. */
  onLog(line: string): void;
  logger: Logger;
};

/**
 * Run PostgreSQL on an initialised data folder. In a process group of its own, a Ctrl-C in the
 * terminal reaches the hub alone, which finishes the check-ins in flight and stops the database last
 * (sharing the hub's group, PostgreSQL took the same SIGINT and cut those check-ins off). A server
 * left running on this folder by a hub that died is stopped first; one whose hub still runs is not.
 */
export async function startPostmaster(opts: Options): Promise<Postmaster> {
  const ids = opts.runAs ? userIds(opts.runAs) : {};
  await stopLeftover(opts.dataDir, opts.logger);
  const child = spawn(
    path.join(opts.binDir, 'postgres'),
    ['-D', opts.dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-k', '/tmp'],
    { ...ids, detached: opts.ownProcessGroup, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const owner = ownerFile(opts.dataDir);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim()) opts.onLog(line.trim());
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    void exited.then((code) => reject(new Error(`postgres exited with code ${code} while starting`)));
  });
  writeFileSync(owner, String(process.pid));
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // Fast shutdown: by now the hub has closed its connections.
        child.kill('SIGINT');
        await exited;
      }
      rmSync(owner, { force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * postmaster.pid names the server's pid on its first line. Only a live postgres whose command line
 * names this folder is stopped; a stale file is PostgreSQL's own business (it clears it on start).
 */
async function stopLeftover(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostmasterOf(pid, dataDir)) return;
  const owner = existsSync(ownerFile(dataDir)) ? Number(readFileSync(ownerFile(dataDir), 'utf8')) : NaN;
  if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
    throw new Error(`PostgreSQL on ${dataDir} belongs to a hub that is still running (pid ${owner}); stop it, or give this one another DATA_DIR`);
  }
  logger.warn({ pid, dataDir }, 'stopping the embedded PostgreSQL a previous run left running');
  process.kill(pid, 'SIGINT');
  for (let waited = 0; alive(pid); waited += 100) {
    if (waited > 30_000) throw new Error(`PostgreSQL (pid ${pid}) left running on ${dataDir} did not stop`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Beside the data folder: the pid of the hub that started its server, so another start can tell a leftover from a live one. */
const ownerFile = (dataDir: string) => `${dataDir}.owner`;

function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(args[0] ?? '') === 'postgres' && args.includes(dataDir);
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user (the postgres user, when the hub runs as root).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
