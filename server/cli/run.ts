import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Who } from '../auth/actor.js';
import { ConfigError } from '../config.js';
import { AppError, toAppError } from '../errors.js';
import type { FieldIssue } from '../validate.js';

/** A mistake the person at the terminal can fix: printed as it is, exit code 1. */
export class CliError extends Error {}

/**
 * Who the audit log names for a CLI write: the operating-system user who ran it. Not a hub actor
 * (the CLI holds no credential; it acts with the database's own rights), so 'anonymous' with no role.
 */
export function cliWho(): Who {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // A uid with no passwd entry (some containers).
    user = process.env.USER ?? `uid${process.getuid?.() ?? '?'}`;
  }
  return { actorKind: 'anonymous', actorId: `cli:${user}`, actorRole: null, ip: null, requestId: null };
}

const cleanups: Array<() => Promise<void>> = [];

/** Something to undo on the way out, also on Ctrl-C (an embedded PostgreSQL this command started). */
export function onExit(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

async function cleanUp(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

/**
 * Run a command: whatever goes wrong ends as one line on stderr and exit code 1, as migrateCli does.
 * `flags` names the command-line flag behind each input field, so a validation error says `--site`, not `sites`.
 */
export async function runCli(main: (argv: string[]) => Promise<void>, flags: Record<string, string> = {}): Promise<void> {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${describe(err, flags)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

function describe(err: unknown, flags: Record<string, string>): string {
  if (err instanceof CliError || err instanceof ConfigError) return oneLine(err.message);
  const error = err instanceof AppError ? err : toAppError(err);
  if (error.code === 'validation_failed' && Array.isArray(error.details)) {
    const issues = (error.details as FieldIssue[]).map((i) => `${flags[i.field.split('.')[0]!] ?? i.field}: ${i.message}`);
    return oneLine(`invalid input: ${issues.join('; ')}`);
  }
  if (error.status >= 500) return oneLine(`failed: ${(err as Error)?.message ?? String(err)}`);
  return oneLine(`${error.code}: ${error.message}`);
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** node:util's parseArgs, strict, its mistakes (an unknown flag, a missing value) ending as a CliError with the usage. */
export function parseFlags<T extends FlagSpec>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/, '')} (${usage})`);
  }
}
