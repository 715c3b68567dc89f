/**
 * API tokens from the command line (npm run token -- …), for the machine the hub's database is on:
 *   create --role R --name N [--site S]… [--expires ISO] [--geofence-exempt]   the secret is printed once, on the last line
 *   list                                                    every token, never a secret
 *   revoke <id>
 * Same service, validation and audit log as POST/GET/DELETE /api/v1/tokens; the audit log names the
 * operating-system user (cli:<user>). The database: DATABASE_URL, else the embedded one of DATA_DIR.
 */
import { z } from 'zod';
import { TokenCreate, type Token } from '../../shared/auth.js';
import { createRevocations } from '../auth/revocations.js';
import { loadConfig } from '../config.js';
import { createTokenService, type TokenService } from '../services/tokens.js';
import { parse } from '../validate.js';
import { openDatabase } from './database.js';
import { CliError, cliWho, parseFlags, runCli } from './run.js';

const USAGE = 'usage: npm run token -- create --role admin|manager|kiosk|dashboard --name NAME [--site ID]… [--expires ISO-INSTANT] [--geofence-exempt] | list | revoke ID';

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(
    argv,
    { role: { type: 'string' }, name: { type: 'string' }, site: { type: 'string', multiple: true }, expires: { type: 'string' }, 'geofence-exempt': { type: 'boolean' } },
    USAGE,
  );
  const [command, ...rest] = positionals;
  const flagsGiven = Object.keys(values).length > 0;
  if (command === 'create' && rest.length === 0) {
    const sites = values.site?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const input = parse(TokenCreate, { name: values.name, role: values.role, sites, expiresAt: values.expires, geofenceExempt: values['geofence-exempt'] });
    const created = await (await tokens()).create(input, cliWho());
    const scope = created.role === 'admin' ? 'every site' : `site${created.sites.length > 1 ? 's' : ''} ${created.sites.join(', ')}`;
    process.stdout.write(`created ${created.role} token ${JSON.stringify(created.name)} for ${scope}, id ${created.id}, ${created.expiresAt ? `expires ${created.expiresAt}` : 'no expiry'}\n`);
    process.stdout.write('its secret, shown only now (send it as Authorization: Bearer <secret>):\n');
    process.stdout.write(`${created.token}\n`);
  } else if (command === 'list' && rest.length === 0 && !flagsGiven) {
    const service = await tokens();
    const all: Token[] = [];
    for (let after: string | undefined; ; ) {
      const page = await service.list({ after, limit: 500 });
      all.push(...page.data);
      if (!page.next) break;
      after = page.next;
    }
    process.stdout.write(table(all));
  } else if (command === 'revoke' && rest.length === 1 && !flagsGiven) {
    const id = z.uuid().safeParse(rest[0]);
    if (!id.success) throw new CliError(`revoke needs a token id (a UUID, as npm run token -- list shows), not ${JSON.stringify(rest[0])}`);
    const config = loadConfig();
    const token = await (await tokens()).revoke(id.data, cliWho());
    process.stdout.write(`revoked token ${token.id} (${JSON.stringify(token.name)}) at ${token.revokedAt}; running hubs refuse it within AUTH_CACHE_SECONDS (${config.AUTH_CACHE_SECONDS} s) and close its sockets\n`);
  } else {
    throw new CliError(USAGE);
  }
}

/** The service the REST routes use; revocations reach running hubs through their credential cache expiring. */
async function tokens(): Promise<TokenService> {
  const db = await openDatabase(loadConfig());
  return createTokenService({ db, revocations: createRevocations() });
}

function table(tokens: Token[]): string {
  if (!tokens.length) return 'no tokens\n';
  const now = Date.now();
  const state = (t: Token) =>
    t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt && Date.parse(t.expiresAt) <= now ? `expired ${t.expiresAt}` : t.expiresAt ? `until ${t.expiresAt}` : 'active';
  const rows = [
    ['ID', 'NAME', 'ROLE', 'SITES', 'PREFIX', 'CREATED', 'STATE'],
    ...tokens.map((t) => [t.id, t.name, t.role, t.role === 'admin' ? '*' : t.sites.join(','), `${t.prefix}…`, t.createdAt, state(t)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

await runCli(main, { name: '--name', role: '--role', sites: '--site', expiresAt: '--expires', geofenceExempt: '--geofence-exempt' });
