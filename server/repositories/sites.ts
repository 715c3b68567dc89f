import type { Knex } from '../db/knex.js';

export const TABLE = 'sites';

export async function existingSiteIds(db: Knex | Knex.Transaction, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db(TABLE).whereIn('id', ids).select('id');
  return new Set(rows.map((r) => r.id));
}
