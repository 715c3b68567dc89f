import pg from 'pg';

/**
 * One statement on a connection of its own, outside any pool: for admin work on a server or a
 * database nothing else is connected to (creating databases, checks before a migration, setup).
 */
export async function queryOnce(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
