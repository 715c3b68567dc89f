/** What was measured: the machine, its PostgreSQL, and the commit the hub ran from. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type pg from 'pg';
import { ROOT } from './child.js';

export async function machineLine(db: pg.Client): Promise<string> {
  const setting = async (name: string) => (await db.query(`SHOW ${name}`)).rows[0][name] as string;
  const cpus = os.cpus();
  return (
    `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, ` +
    `node ${process.version}, PostgreSQL ${await setting('server_version')} (synchronous_commit=${await setting('synchronous_commit')}, ` +
    `fsync=${await setting('fsync')}), load average at start ${os.loadavg()[0]!.toFixed(2)}`
  );
}

/** The commit the hub runs from, and whether server/ or shared/ had uncommitted changes (read-only git). */
export function codeVersion(): string {
  const git = (...args: string[]) => {
    try {
      // GIT_OPTIONAL_LOCKS=0: status must not refresh the index (or take its lock) under someone committing.
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();
    } catch {
      return '';
    }
  };
  const head = git('rev-parse', '--short', 'HEAD');
  if (!head) return 'not a git checkout';
  const dirty = git('status', '--porcelain', '--', 'server', 'shared').split('\n').filter(Boolean).length;
  return `git ${head}${dirty ? ` + ${dirty} uncommitted file(s) in server/ shared/` : ''}`;
}
