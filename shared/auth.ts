import { z } from 'zod';
import { Id, Instant, NON_EMPTY, PageQuery, Text } from './schemas.js';

/**
 * Roles, each scoped to sites (admin: every site). admin: everything. manager: its sites' employees,
 * check-ins, presence, reports and live events. kiosk: check-ins for its sites' employees, and the
 * badge look-up that needs. dashboard: its sites' presence, check-ins and live events, read-only.
 */
export const ROLES = ['admin', 'manager', 'kiosk', 'dashboard'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** The httpOnly cookie that holds a signed-in person's session. */
export const SESSION_COOKIE = 'hub_session';

/** People sign in; devices and integrations use tokens. */
export const PERSON_ROLES = ['admin', 'manager'] as const;

const Sites = z.array(Id).max(1000);
const needsSites = (v: { role?: Role; sites?: string[] }) => v.role === undefined || v.role === 'admin' || (v.sites?.length ?? 0) > 0;
const NEEDS_SITES = { message: 'every role but admin needs at least one site', path: ['sites'] };

export const TokenCreate = z
  .strictObject({ name: Text(100), role: Role, sites: Sites.optional(), expiresAt: Instant.optional(), geofenceExempt: z.boolean().optional() })
  .refine(needsSites, NEEDS_SITES)
  // A fixed device's punches are where it is bolted: only kiosks are exempt from site geofences.
  .refine((v) => !v.geofenceExempt || v.role === 'kiosk', { message: 'only kiosk tokens can be exempt from geofences', path: ['geofenceExempt'] })
  .refine((v) => v.expiresAt === undefined || Date.parse(v.expiresAt) > Date.now(), { message: 'must be in the future', path: ['expiresAt'] });
export type TokenCreate = z.infer<typeof TokenCreate>;

/** A token as listed: never its secret, only the prefix that tells tokens apart. */
export const Token = z.object({
  id: z.uuid(),
  name: z.string(),
  role: Role,
  sites: z.array(z.string()),
  prefix: z.string(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  geofenceExempt: z.boolean(),
});
export type Token = z.infer<typeof Token>;

/** The answer to a create: the only time the secret is shown. */
export const CreatedToken = Token.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

/** Tokens and users are named by uuid in paths and paged by it. */
export const TokenParams = z.object({ id: z.uuid() });
export const UserParams = z.object({ id: z.uuid() });
export const UuidPageQuery = PageQuery.extend({ after: z.uuid().optional() });

export const Username = Id;
/** Long enough to resist guessing online (sign-ins are rate limited too); any characters but control ones. */
export const Password = Text(200).pipe(z.string().min(12, 'must be at least 12 characters'));

export const UserCreate = z
  .strictObject({ username: Username, name: Text(200), password: Password, role: z.enum(PERSON_ROLES), sites: Sites.optional() })
  .refine(needsSites, NEEDS_SITES);
export type UserCreate = z.infer<typeof UserCreate>;

export const UserUpdate = z
  .strictObject({ name: Text(200).optional(), password: Password.optional(), role: z.enum(PERSON_ROLES).optional(), sites: Sites.optional(), active: z.boolean().optional() })
  .refine(...NON_EMPTY);
export type UserUpdate = z.infer<typeof UserUpdate>;

export const User = z.object({
  id: z.uuid(),
  username: z.string(),
  name: z.string(),
  role: z.enum(PERSON_ROLES),
  sites: z.array(z.string()),
  active: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type User = z.infer<typeof User>;

export const LoginInput = z.strictObject({ username: Text(200), password: z.string().min(1).max(1000) });
export type LoginInput = z.infer<typeof LoginInput>;
/** A sign-in's answer; the session itself is the httpOnly `hub_session` cookie. */
export const LoginAnswer = z.object({ user: User, expiresAt: z.string() });

/** Who the caller is, as the hub sees it. */
export const Me = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  sites: z.union([z.literal('all'), z.array(z.string())]),
  kind: z.enum(['token', 'session', 'jwt', 'anonymous']),
  expiresAt: z.string().nullable(),
});
export type Me = z.infer<typeof Me>;

/** The audit log, newest last, paged by id: `after` is the last id of the previous page. */
export const AuditQuery = PageQuery.omit({ after: true }).extend({
  after: z.coerce.number().int().min(0).default(0),
  actor: z.string().min(1).max(200).optional(),
  entity: z.string().min(1).max(64).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  actorKind: z.string(),
  actorId: z.string(),
  actorRole: z.string().nullable(),
  ip: z.string().nullable(),
  requestId: z.string().nullable(),
  action: z.string(),
  entity: z.string(),
  entityId: z.string().nullable(),
  changes: z.unknown(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
