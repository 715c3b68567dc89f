import type { Knex } from '../db/knex.js';
import { NotFoundError } from '../errors.js';
import { existingSiteIds } from '../repositories/sites.js';

/** A credential may only be scoped to sites that exist. */
export async function requireSites(db: Knex | Knex.Transaction, sites: string[]): Promise<void> {
  const known = await existingSiteIds(db, sites);
  const missing = sites.find((s) => !known.has(s));
  if (missing) throw new NotFoundError('unknown_site', `no site with id ${missing}`);
}
