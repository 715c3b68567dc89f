import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { UNLIMITED } from './hub.js';
import { freePort } from './net.js';

/**
 * The hub as its users run it: `node --import tsx server/index.ts` in a process of its own (with
 * WORKERS > 1, a primary and its workers), over a test database, on a free port of 127.0.0.1.
 */
export type HubProcess = {
  url: string;
  port: number;
  /** The primary's pid (the only process with WORKERS=1). */
  pid: number;
  adminToken: string;
  child: ChildProcess;
  /** Everything it has logged so far (JSON lines). */
  output(): string;
  /** Its log lines with this message. */
  logged(msg: string): Array<Record<string, unknown>>;
  /** The primary's child processes (its workers), from /proc. */
  workers(): number[];
  /** Which process holds each open connection to the hub, by the connection's client-side port (Linux /proc). */
  holders(): Map<number, number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL whatever is still running; for after hooks. */
  kill(): Promise<void>;
};

/** Starts the hub and resolves once it logs that it is listening (with workers: once every worker is ready). */
export async function startHubProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<HubProcess> {
  const port = await freePort();
  const adminToken = `ahub_${randomBytes(32).toString('base64url')}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
    env: {
      ...process.env,
      ...UNLIMITED,
      DATABASE_URL: databaseUrl,
      MIGRATE_ON_START: 'false',
      REDIS_URL: '',
      AUTH_JWT_ISSUER: '',
      AUTH_JWT_JWKS_URL: '',
      ADMIN_TOKEN: adminToken,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = () =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const listening = new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"attendance hub is listening"')) resolve();
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void exited.then(({ code, signal }) => reject(new Error(`the hub exited (${code ?? signal}) before listening:\n${output}`)));
  });
  const hub: HubProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    adminToken,
    child,
    output: () => output,
    logged: (msg) => lines().filter((l) => l.msg === msg),
    workers: () => childPids(child.pid!),
    holders: () => holders(port, [child.pid!, ...childPids(child.pid!)]),
    exited,
    async kill() {
      const pids = childPids(child.pid!);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      for (const pid of pids) killQuietly(pid);
    },
  };
  try {
    await listening;
  } catch (err) {
    await hub.kill();
    throw err;
  }
  return hub;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Established connections to the port, as client port → the pid holding the server's end (among pids). */
function holders(port: number, pids: number[]): Map<number, number> {
  const clientPortByInode = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const rows = fs.existsSync(table) ? fs.readFileSync(table, 'utf8').trim().split('\n').slice(1) : [];
    for (const row of rows) {
      const f = row.trim().split(/\s+/);
      const [local, remote, state, inode] = [f[1]!, f[2]!, f[3]!, f[9]!];
      if (state === '01' && parseInt(local.split(':')[1]!, 16) === port) clientPortByInode.set(inode, parseInt(remote.split(':')[1]!, 16));
    }
  }
  const held = new Map<number, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        const clientPort = inode && clientPortByInode.get(inode);
        if (clientPort) held.set(clientPort, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return held;
}
