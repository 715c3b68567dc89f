import type { CheckinInput } from '../../shared/schemas.js';

/** A punch kept on this device until the hub has it: its eventId makes every resend idempotent. */
export type QueuedPunch = Required<Pick<CheckinInput, 'eventId' | 'badge' | 'siteId' | 'deviceId' | 'occurredAt'>> & {
  type: 'toggle';
  /** Held only until the punch is sent: the hub must check it then. */
  pin?: string;
  /** For the screen ("Saved: Anna Schmidt"); never sent. */
  name?: string;
};

/** What the badge look-up said, kept so that a badge seen before can be punched offline without asking for a PIN it has not got. */
export type KnownBadge = { badge: string; employeeId: string; name: string; siteId: string | null; hasPin: boolean; active: boolean };

export type Outbox = {
  put(punch: QueuedPunch): Promise<void>;
  remove(eventIds: string[]): Promise<void>;
  /** Oldest first. */
  all(): Promise<QueuedPunch[]>;
  rememberBadge(badge: KnownBadge): Promise<void>;
  badge(badge: string): Promise<KnownBadge | undefined>;
};

const PUNCHES = 'punches';
const BADGES = 'badges';

const done = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/**
 * The kiosk's IndexedDB: punches not yet stored by the hub (written before the first send, so a
 * closed tab or a reload loses none) and the badges it has looked up.
 */
export async function openOutbox(): Promise<Outbox> {
  const open = indexedDB.open('hub-kiosk', 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(PUNCHES, { keyPath: 'eventId' }).createIndex('occurredAt', 'occurredAt');
    open.result.createObjectStore(BADGES, { keyPath: 'badge' });
  };
  const db = await done(open);
  // A write counts once its transaction has committed, not when the request succeeds.
  const write = (store: string, fn: (s: IDBObjectStore) => void) =>
    new Promise<void>((resolve, reject) => {
      const tx = db.transaction(store, 'readwrite', { durability: 'strict' });
      fn(tx.objectStore(store));
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  const read = (store: string) => db.transaction(store, 'readonly').objectStore(store);

  return {
    put: (punch) => write(PUNCHES, (s) => s.put(punch)),
    remove: (ids) => (ids.length ? write(PUNCHES, (s) => ids.forEach((id) => s.delete(id))) : Promise.resolve()),
    all: () => done(read(PUNCHES).index('occurredAt').getAll()) as Promise<QueuedPunch[]>,
    rememberBadge: (badge) => write(BADGES, (s) => s.put(badge)),
    badge: (badge) => done(read(BADGES).get(badge)) as Promise<KnownBadge | undefined>,
  };
}
