import type { Token } from '../../shared/auth.js';
import type { Page } from '../../shared/schemas.js';
import type { Knex } from '../db/knex.js';

export const TABLE = 'api_tokens';
const COLUMNS = ['id', 'name', 'role', 'sites', 'prefix', 'created_at', 'created_by', 'expires_at', 'revoked_at', 'geofence_exempt'];

type TokenRow = {
  id: string;
  name: string;
  role: Token['role'];
  sites: string[];
  prefix: string;
  created_at: Date;
  created_by: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  geofence_exempt: boolean;
};

const fromRow = (r: TokenRow): Token => ({
  id: r.id,
  name: r.name,
  role: r.role,
  sites: r.sites,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  expiresAt: r.expires_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
  geofenceExempt: r.geofence_exempt,
});

export type NewToken = { id: string; name: string; role: Token['role']; sites: string[]; secretHash: string; prefix: string; createdBy: string | null; expiresAt: string | null; geofenceExempt?: boolean };

export async function insertToken(db: Knex | Knex.Transaction, t: NewToken): Promise<Token> {
  const [row] = await db(TABLE)
    .insert({ id: t.id, name: t.name, role: t.role, sites: t.sites, secret_hash: t.secretHash, prefix: t.prefix, created_by: t.createdBy, expires_at: t.expiresAt, geofence_exempt: t.geofenceExempt ?? false })
    .returning(COLUMNS);
  return fromRow(row);
}

/** The token with this secret's fingerprint, whatever its state (the caller judges revoked and expired). */
export async function findTokenByHash(db: Knex | Knex.Transaction, secretHash: string): Promise<Token | undefined> {
  const row = await db(TABLE).where({ secret_hash: secretHash }).first(COLUMNS);
  return row && fromRow(row);
}

export async function listTokens(db: Knex, q: { after?: string; limit: number }): Promise<Page<Token>> {
  const query = db(TABLE).select(COLUMNS).orderBy('id').limit(q.limit + 1);
  if (q.after !== undefined) query.where('id', '>', q.after);
  const rows = (await query).map(fromRow);
  const data = rows.slice(0, q.limit);
  return { data, next: rows.length > q.limit ? data.at(-1)!.id : null };
}

/** Revoked now, or when it was first revoked; undefined when there is no such token. */
export async function revokeToken(db: Knex | Knex.Transaction, id: string): Promise<Token | undefined> {
  const [row] = await db(TABLE).where({ id }).update({ revoked_at: db.raw('coalesce(revoked_at, now())') }).returning(COLUMNS);
  return row && fromRow(row);
}

/** Whether any admin can still get in: an admin token neither revoked nor expired, or an active admin user. */
export async function adminExists(db: Knex | Knex.Transaction): Promise<boolean> {
  const row = await db
    .select(
      db.raw(`exists (SELECT 1 FROM ${TABLE} WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS token`),
      db.raw(`exists (SELECT 1 FROM users WHERE role = 'admin' AND active) AS user`),
    )
    .first();
  return row.token || row.user;
}
