import type { Employee, EmployeeListQuery } from '../../shared/directory.js';
import type { Page } from '../../shared/schemas.js';
import type { Scope } from '../auth/actor.js';
import type { Knex } from '../db/knex.js';
import { toPage } from './page.js';

export const TABLE = 'employees';
const COLUMNS = ['id', 'name', 'site_id', 'badge', 'pin_hash', 'active', 'created_at', 'updated_at'];
// PostgreSQL's default name for the UNIQUE on employees.badge (liquibase 002).
const BADGE_UNIQUE = 'employees_badge_key';

type EmployeeRow = {
  id: string;
  name: string;
  site_id: string | null;
  badge: string | null;
  pin_hash: string | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
};

// pin_hash stays in the repository: the domain object only says whether a PIN is set.
const fromRow = (r: EmployeeRow): Employee => ({
  id: r.id,
  name: r.name,
  siteId: r.site_id,
  badge: r.badge,
  hasPin: r.pin_hash !== null,
  active: r.active,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export type BadgeHolder = { id: string; name: string; siteId: string | null; active: boolean; pinHash: string | null };
export type NewEmployee = { id: string; name: string; siteId?: string; badge?: string; pinHash?: string; active?: boolean };
export type EmployeeChange = { name?: string; siteId?: string | null; badge?: string | null; pinHash?: string | null; active?: boolean };
/** Why a write was refused: the service turns these into 409s. */
export type EmployeeConflict = 'id_taken' | 'badge_taken';

export async function insertEmployee(db: Knex | Knex.Transaction, e: NewEmployee): Promise<Employee | EmployeeConflict> {
  try {
    const [row] = await db(TABLE)
      .insert({ id: e.id, name: e.name, site_id: e.siteId ?? null, badge: e.badge ?? null, pin_hash: e.pinHash ?? null, active: e.active ?? true })
      .onConflict('id')
      .ignore()
      .returning(COLUMNS);
    return row ? fromRow(row) : 'id_taken';
  } catch (err) {
    return badgeTaken(err);
  }
}

export async function findEmployee(db: Knex | Knex.Transaction, id: string): Promise<Employee | undefined> {
  const row = await db(TABLE).where({ id }).first(COLUMNS);
  return row && fromRow(row);
}

/** The employees with these ids, by id, with whether each has a PIN (never the hash). */
export async function findEmployees(db: Knex | Knex.Transaction, ids: string[]): Promise<Map<string, Employee>> {
  if (!ids.length) return new Map();
  const rows = await db(TABLE).whereIn('id', ids).select(COLUMNS);
  return new Map(rows.map((r: EmployeeRow) => [r.id, fromRow(r)]));
}

/** Who holds each of these badges: badge → employee id. */
export async function findBadgeHolders(db: Knex | Knex.Transaction, badges: string[]): Promise<Map<string, string>> {
  if (!badges.length) return new Map();
  const rows = await db(TABLE).whereIn('badge', badges).select('id', 'badge');
  return new Map(rows.map((r: { id: string; badge: string }) => [r.badge, r.id]));
}

/** For badge check-in at a kiosk: who holds the badge, and the PIN hash to verify. */
export async function findEmployeeByBadge(db: Knex | Knex.Transaction, badge: string): Promise<BadgeHolder | undefined> {
  const row = await db(TABLE).where({ badge }).first('id', 'name', 'site_id', 'active', 'pin_hash');
  return row && { id: row.id, name: row.name, siteId: row.site_id, active: row.active, pinHash: row.pin_hash };
}

/** An employee's site and PIN hash (null when they have none); undefined when there is no such employee. */
export async function findPinHolder(db: Knex, id: string): Promise<{ siteId: string | null; pinHash: string | null } | undefined> {
  const row = await db(TABLE).where({ id }).first('site_id', 'pin_hash');
  return row && { siteId: row.site_id, pinHash: row.pin_hash };
}

export async function listEmployees(db: Knex, q: EmployeeListQuery, sites: Scope): Promise<Page<Employee>> {
  const query = db(TABLE).select(COLUMNS).orderBy('id').limit(q.limit + 1);
  if (sites !== 'all') query.whereIn('site_id', [...sites]);
  if (q.after !== undefined) query.where('id', '>', q.after);
  if (q.siteId !== undefined) query.where('site_id', q.siteId);
  if (q.active !== undefined) query.where('active', q.active);
  return toPage((await query).map(fromRow), q.limit);
}

/** The updated employee, undefined when there is none with this id, or the conflict that refused it. */
export async function updateEmployee(db: Knex | Knex.Transaction, id: string, c: EmployeeChange): Promise<Employee | EmployeeConflict | undefined> {
  try {
    const [row] = await db(TABLE)
      .where({ id })
      .update({
        ...(c.name === undefined ? {} : { name: c.name }),
        ...(c.siteId === undefined ? {} : { site_id: c.siteId }),
        ...(c.badge === undefined ? {} : { badge: c.badge }),
        ...(c.pinHash === undefined ? {} : { pin_hash: c.pinHash }),
        ...(c.active === undefined ? {} : { active: c.active }),
        updated_at: db.fn.now(),
      })
      .returning(COLUMNS);
    return row && fromRow(row);
  } catch (err) {
    return badgeTaken(err);
  }
}

/** A unique violation on the badge is a refusal, not a failure; anything else is rethrown. */
function badgeTaken(err: unknown): 'badge_taken' {
  const e = err as { code?: string; constraint?: string };
  if (e?.code === '23505' && e.constraint === BADGE_UNIQUE) return 'badge_taken';
  throw err;
}
