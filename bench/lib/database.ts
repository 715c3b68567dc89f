/**
 * The bench database: made fresh for each run on the server DATABASE_URL names, migrated with the real
 * Liquibase changelog, seeded with sites and employees, and dropped at clean-up.
 */
import pg from 'pg';
import { pino } from 'pino';
import { queryOnce, withDatabase } from '../../server/db/admin.js';
import { migrate } from '../../server/db/liquibase.js';
import { num, say } from './print.js';
import { onCleanup } from './run.js';

const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const SITES = 10;

export const siteId = (i: number) => `S${String(1 + (i % SITES)).padStart(2, '0')}`;

/** Every seeded site's id. */
export const allSites = () => Array.from({ length: SITES }, (_, i) => siteId(i));

/** The k-th employee in turn (0-based, wrapping): employee g (1-based) works at site S(1 + g % 10), as seeded. */
export function employeeOf(k: number, employees: number): { employeeId: string; siteId: string; g: number } {
  const g = 1 + (k % employees);
  return { employeeId: `E${String(g).padStart(6, '0')}`, siteId: siteId(g), g };
}

/** Creates, migrates and seeds the database; returns its URL. */
export async function createBenchDatabase(name: string, employees: number): Promise<string> {
  const url = withDatabase(ADMIN_URL, name);
  onCleanup(async () => {
    await queryOnce(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    say(`dropped database ${name}`);
  });
  say(`creating database ${name}`);
  await queryOnce(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await queryOnce(ADMIN_URL, `CREATE DATABASE ${name}`);
  say('migrating it with Liquibase (a cold update takes a few seconds)');
  await migrate(url, pino({ level: 'warn' }));
  say(`seeding ${SITES} sites and ${num(employees)} employees`);
  await queryOnce(url, `INSERT INTO sites (id, name) SELECT 'S' || lpad(g::text, 2, '0'), 'Site ' || g FROM generate_series(1, $1::int) g`, [SITES]);
  await queryOnce(
    url,
    `INSERT INTO employees (id, name, site_id)
     SELECT 'E' || lpad(g::text, 6, '0'), 'Employee ' || g, 'S' || lpad((1 + g % $2::int)::text, 2, '0') FROM generate_series(1, $1::int) g`,
    [employees, SITES],
  );
  // Only the seeded tables: statistics taken while events and checkins are empty make the planner
  // treat them as empty for good, and a plan cached then scans them (measured with an earlier
  // schema: ~2 ms per inserted check-in at 30k events).
  await queryOnce(url, 'ANALYZE sites, employees');
  return url;
}

/** One connection for the bench's own reads, closed at clean-up. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onCleanup(() => client.end().catch(() => {}));
  return client;
}

/** The last seq handed out. */
export async function seqHead(db: pg.Client): Promise<number> {
  return Number((await db.query('SELECT value FROM event_seq WHERE id = 1')).rows[0].value);
}
