import { reaches, type Actor, type Role, type Scope } from '../auth/actor.js';
import { AppError } from '../errors.js';

/** For each action on a resource, the roles that may take it (on their own sites only, but admins). */
export type Policy<A extends string> = Readonly<Record<A, readonly Role[]>>;

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

/**
 * Throws 403 unless the actor's role may take the action and every site named is one of its own
 * (a thing with no site is for admins only). The one question every route and socket event asks.
 */
export function authorize<A extends string>(actor: Actor, policy: Policy<A>, action: A, ...sites: Array<string | null | undefined>): void {
  if (!policy[action].includes(actor.role)) throw new ForbiddenError(`a ${actor.role} may not ${action} here`);
  for (const site of sites) if (!reaches(actor, site)) throw new ForbiddenError(site ? `not allowed at site ${site}` : 'only admins may act on what belongs to no site');
}

/** For services given a scope: throws 403 unless the site is in it (a thing with no site: admins only). */
export function requireReach(scope: Scope, siteId: string | null | undefined, what: string): void {
  if (!reaches({ sites: scope }, siteId)) throw new ForbiddenError(`not allowed: ${what}`);
}

/** The sites an actor may take the action on ('all' for admins), for reads that list what is in reach. */
export function scopeOf<A extends string>(actor: Actor, policy: Policy<A>, action: A): 'all' | ReadonlySet<string> {
  authorize(actor, policy, action);
  return actor.sites;
}
