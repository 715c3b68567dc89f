/**
 * People who sign in, from the command line (npm run user -- …):
 *   create --username U --name N --role admin|manager [--site S]…
 * The password comes from the environment variable HUB_PASSWORD or from stdin (asked for, unechoed,
 * on a terminal): never from the command line, which other users of the machine can read in `ps`.
 * Same service, validation and audit log as POST /api/v1/users; the audit log names the
 * operating-system user (cli:<user>). The database: DATABASE_URL, else the embedded one of DATA_DIR.
 */
import { UserCreate } from '../../shared/auth.js';
import { createRevocations } from '../auth/revocations.js';
import { loadConfig } from '../config.js';
import { createUserService } from '../services/users.js';
import { parse } from '../validate.js';
import { openDatabase } from './database.js';
import { CliError, cliWho, parseFlags, runCli } from './run.js';

const USAGE = 'usage: HUB_PASSWORD=… npm run user -- create --username NAME --name "FULL NAME" --role admin|manager [--site ID]… (or give the password on stdin)';

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(
    argv,
    { username: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, site: { type: 'string', multiple: true }, password: { type: 'string' } },
    USAGE,
  );
  if (values.password !== undefined) throw new CliError('the password is never taken from the command line (anyone on this machine can read it in ps): set HUB_PASSWORD, or give it on stdin');
  if (positionals.length !== 1 || positionals[0] !== 'create') throw new CliError(USAGE);

  const sites = values.site?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const fields = { username: values.username, name: values.name, role: values.role, sites };
  // Everything but the password is checked before asking for it.
  parse(UserCreate, { ...fields, password: 'x'.repeat(12) });
  const input = parse(UserCreate, { ...fields, password: await readPassword() });

  const db = await openDatabase(loadConfig());
  const user = await createUserService({ db, revocations: createRevocations() }).create(input, cliWho());
  const scope = user.role === 'admin' ? 'every site' : `site${user.sites.length > 1 ? 's' : ''} ${user.sites.join(', ')}`;
  process.stdout.write(`created ${user.role} ${user.username} (${JSON.stringify(user.name)}) for ${scope}, id ${user.id}; sign in with POST /api/v1/auth/login\n`);
}

/** HUB_PASSWORD (input to this command, not hub configuration), else stdin: its first line. */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.HUB_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) {
    const first = await askHidden('Password (at least 12 characters): ');
    if ((await askHidden('Again: ')) !== first) throw new CliError('the two passwords differ');
    return first;
  }
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new CliError('no password: set HUB_PASSWORD, or give it as the first line of stdin');
  return line;
}

/** A prompt on stderr whose answer is not echoed. */
function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (result: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      result();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(() => resolve(value));
        if (ch === '\u0003') return finish(() => reject(new CliError('cancelled')));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

await runCli(main, { username: '--username', name: '--name', role: '--role', sites: '--site', password: 'password' });
