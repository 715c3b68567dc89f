import type { Geofence, Site, SiteCreate, SiteListQuery } from '../../shared/directory.js';
import type { Page } from '../../shared/schemas.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { toPage } from './page.js';

export const TABLE = 'sites';
const COLUMNS = ['id', 'name', 'time_zone', 'active', 'geofence', 'created_at', 'updated_at'];

type SiteRow = { id: string; name: string; time_zone: string; active: boolean; geofence: Geofence | null; created_at: Date; updated_at: Date };

const fromRow = (r: SiteRow): Site => ({
  id: r.id,
  name: r.name,
  timeZone: r.time_zone,
  active: r.active,
  geofence: r.geofence,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export type SiteChange = { name?: string; timeZone?: string; active?: boolean; geofence?: Geofence | null };

export async function existingSiteIds(db: Knex | Knex.Transaction, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db(TABLE).whereIn('id', ids).select('id');
  return new Set(rows.map((r) => r.id));
}

/** Whether each of these sites is active, for those that exist. */
export async function siteStates(db: Knex | Knex.Transaction, ids: string[]): Promise<Map<string, boolean>> {
  if (!ids.length) return new Map();
  const rows = await db(TABLE).whereIn('id', ids).select('id', 'active');
  return new Map(rows.map((r: { id: string; active: boolean }) => [r.id, r.active]));
}

/** The new site, or undefined when the id is taken (ON CONFLICT: a race with the same id is no error). */
export async function insertSite(db: Knex | Knex.Transaction, s: SiteCreate): Promise<Site | undefined> {
  const [row] = await db(TABLE).insert({ id: s.id, name: s.name, time_zone: s.timeZone, geofence: s.geofence ? JSON.stringify(s.geofence) : null }).onConflict('id').ignore().returning(COLUMNS);
  return row && fromRow(row);
}

export async function findSite(db: Knex | Knex.Transaction, id: string): Promise<Site | undefined> {
  const row = await db(TABLE).where({ id }).first(COLUMNS);
  return row && fromRow(row);
}

/**
 * Whether the site exists and is active, holding a share lock until the transaction ends: a
 * concurrent deactivation waits, so no employee is assigned to a site as it closes.
 */
export async function lockSiteForShare(trx: Knex.Transaction, id: string): Promise<{ active: boolean } | undefined> {
  return trx(TABLE).where({ id }).forShare().first('active');
}

export async function listSites(db: Knex, q: SiteListQuery, sites: Scope): Promise<Page<Site>> {
  const query = db(TABLE).select(COLUMNS).orderBy('id').limit(q.limit + 1);
  if (sites !== 'all') query.whereIn('id', [...sites]);
  if (q.after !== undefined) query.where('id', '>', q.after);
  if (q.active !== undefined) query.where('active', q.active);
  return toPage((await query).map(fromRow), q.limit);
}

/** The updated site, or undefined when there is none with this id. */
export async function updateSite(db: Knex | Knex.Transaction, id: string, c: SiteChange): Promise<Site | undefined> {
  const [row] = await db(TABLE)
    .where({ id })
    .update({
      ...(c.name === undefined ? {} : { name: c.name }),
      ...(c.timeZone === undefined ? {} : { time_zone: c.timeZone }),
      ...(c.active === undefined ? {} : { active: c.active }),
      ...(c.geofence === undefined ? {} : { geofence: c.geofence === null ? null : JSON.stringify(c.geofence) }),
      updated_at: db.fn.now(),
    })
    .returning(COLUMNS);
  return row && fromRow(row);
}
