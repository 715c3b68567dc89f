import type { Knex } from '../db/knex.js';

export const TABLE = 'employees';

export type EmployeeRef = { id: string; name: string; siteId: string | null; active: boolean };

export async function findEmployeeRefs(db: Knex | Knex.Transaction, ids: string[]): Promise<Map<string, EmployeeRef>> {
  const rows = await db(TABLE).whereIn('id', ids).select('id', 'name', 'site_id', 'active');
  return new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, siteId: r.site_id, active: r.active }]));
}

/** Create the employee if new; an existing employee keeps its name, site and badge. */
export async function insertEmployeeIfMissing(trx: Knex.Transaction, employee: { id: string; name: string }): Promise<void> {
  await trx(TABLE).insert({ id: employee.id, name: employee.name }).onConflict('id').ignore();
}
