import type { Role } from '../../shared/auth.js';

export { ROLES, type Role } from '../../shared/auth.js';

/**
 * Who is asking. Every request and socket has one actor, fixed when it authenticates: a role and the
 * sites it may act on (admins: every site). Services receive only what they need of it (the sites of
 * a scope, the `Who` of an audit entry), never the credential.
 */
/** How the actor proved who it is: each kind can be revoked or expire on its own. */
export type Credential =
  | { kind: 'token'; id: string }
  | { kind: 'session'; id: string }
  | { kind: 'jwt'; subject: string; expiresAt: Date | null }
  | { kind: 'anonymous' };

export type Actor = {
  /** Stable id for the audit log: a token's id, a user's id, a JWT's subject. */
  id: string;
  /** What people read in the audit log: the token's or user's name. */
  name: string;
  role: Role;
  /** The sites the actor may act on; 'all' for admins. */
  sites: 'all' | ReadonlySet<string>;
  credential: Credential;
  /** When the credential stops being valid, if it does. */
  expiresAt: Date | null;
  /** A fixed kiosk's token: its punches are not held to site geofences. */
  geofenceExempt?: true;
};

/** The sites an actor may act on, as services see it. */
export type Scope = Actor['sites'];

/** What the audit log records of a write: who, from where, in which request. */
export type Who = { actorKind: Credential['kind']; actorId: string; actorRole: Role | null; ip: string | null; requestId: string | null };

export function whoOf(actor: Actor, ip: string | null, requestId: string | null): Who {
  return { actorKind: actor.credential.kind, actorId: actor.id, actorRole: actor.role, ip, requestId };
}

/** Whether the actor may act on a site; a thing with no site is for admins only. */
export const reaches = (actor: { sites: Scope }, siteId: string | null | undefined) =>
  actor.sites === 'all' || (siteId != null && actor.sites.has(siteId));
