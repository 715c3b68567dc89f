import type { Actor } from './actor.js';
import type { Authenticator, Presented } from './authenticate.js';

/** What a long-lived holder (a socket, an event stream) authenticated as, and with what. */
export type Held = { actor: Actor; presented: Presented };

/**
 * The holders whose credential no longer authenticates (expired, or revoked without this node being
 * told). Each distinct actor is looked up once: holders given the same actor object presented the
 * same credential (one cached lookup answered them all), so ten thousand dashboards on one token
 * cost one lookup per sweep, not ten thousand. A lookup that fails (PostgreSQL away) keeps its holders.
 */
export async function lapsed<T>(authenticator: Authenticator, holders: Iterable<T>, held: (holder: T) => Held): Promise<T[]> {
  const byActor = new Map<Actor, T[]>();
  for (const holder of holders) {
    const { actor } = held(holder);
    const group = byActor.get(actor);
    if (group) group.push(holder);
    else byActor.set(actor, [holder]);
  }
  const refused: T[] = [];
  for (const [actor, group] of byActor) {
    const still = await authenticator.authenticate(held(group[0]!).presented).catch(() => actor);
    if (!still) refused.push(...group);
  }
  return refused;
}
