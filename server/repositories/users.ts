import type { User } from '../../shared/auth.js';
import type { Page } from '../../shared/schemas.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'users';
const COLUMNS = ['id', 'username', 'name', 'role', 'sites', 'active', 'created_at', 'updated_at'];

type UserRow = { id: string; username: string; name: string; role: User['role']; sites: string[]; active: boolean; created_at: Date; updated_at: Date };

const fromRow = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  name: r.name,
  role: r.role,
  sites: r.sites,
  active: r.active,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export type NewUser = { id: string; username: string; name: string; passwordHash: string; role: User['role']; sites: string[] };
export type UserChange = { name?: string; passwordHash?: string; role?: User['role']; sites?: string[]; active?: boolean };

/** The new user, or undefined when the username is taken. */
export async function insertUser(db: Knex | Knex.Transaction, u: NewUser): Promise<User | undefined> {
  const [row] = await db(TABLE)
    .insert({ id: u.id, username: u.username, name: u.name, password_hash: u.passwordHash, role: u.role, sites: u.sites })
    .onConflict('username')
    .ignore()
    .returning(COLUMNS);
  return row && fromRow(row);
}

export async function findUser(db: Knex | Knex.Transaction, id: string): Promise<User | undefined> {
  const row = await db(TABLE).where({ id }).first(COLUMNS);
  return row && fromRow(row);
}

/** For sign-in: the user and the password hash to check. */
export async function findUserForLogin(db: Knex, username: string): Promise<(User & { passwordHash: string }) | undefined> {
  const row = await db(TABLE).where({ username }).first([...COLUMNS, 'password_hash']);
  return row && { ...fromRow(row), passwordHash: row.password_hash };
}

export async function listUsers(db: Knex, q: { after?: string; limit: number }): Promise<Page<User>> {
  const query = db(TABLE).select(COLUMNS).orderBy('id').limit(q.limit + 1);
  if (q.after !== undefined) query.where('id', '>', q.after);
  const rows = (await query).map(fromRow);
  const data = rows.slice(0, q.limit);
  return { data, next: rows.length > q.limit ? data.at(-1)!.id : null };
}

export async function updateUser(db: Knex | Knex.Transaction, id: string, c: UserChange): Promise<User | undefined> {
  const [row] = await db(TABLE)
    .where({ id })
    .update({
      ...(c.name === undefined ? {} : { name: c.name }),
      ...(c.passwordHash === undefined ? {} : { password_hash: c.passwordHash }),
      ...(c.role === undefined ? {} : { role: c.role }),
      ...(c.sites === undefined ? {} : { sites: c.sites }),
      ...(c.active === undefined ? {} : { active: c.active }),
      updated_at: db.fn.now(),
    })
    .returning(COLUMNS);
  return row && fromRow(row);
}
