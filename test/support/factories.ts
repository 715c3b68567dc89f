import { randomUUID } from 'node:crypto';
import type { Knex } from '../../server/db/knex.js';
import { createLedgerStore } from '../../server/repositories/ledger.js';
import type { Checkin } from '../../shared/schemas.js';

export async function makeSite(db: Knex, site: { id: string; name?: string; timeZone?: string }) {
  await db('sites').insert({ id: site.id, name: site.name ?? site.id, time_zone: site.timeZone ?? 'UTC' });
}

export async function makeEmployee(db: Knex, e: { id: string; name?: string; siteId?: string | null; badge?: string; active?: boolean }) {
  await db('employees').insert({ id: e.id, name: e.name ?? e.id, site_id: e.siteId ?? null, badge: e.badge ?? null, active: e.active ?? true });
}

/**
 * Store check-ins as given, past the hub's rules (for report fixtures such as a forgotten check-out),
 * through the ledger's own writer: the same seq counter, event rows and check-in rows as the hub's.
 */
export async function storeCheckins(
  db: Knex,
  punches: Array<{ employeeId: string; siteId?: string | null; type: 'in' | 'out'; occurredAt: string }>,
): Promise<number[]> {
  const store = createLedgerStore(db);
  try {
    const { write } = await store.run({ employeeIds: [], siteIds: [], eventIds: [], instants: [] }, (state) => {
      let head = state.head;
      const recordedAt = state.now.toISOString();
      const checkins: Checkin[] = punches.map((p) => ({
        seq: ++head,
        eventId: randomUUID(),
        employeeId: p.employeeId,
        siteId: p.siteId ?? null,
        deviceId: null,
        type: p.type,
        occurredAt: new Date(p.occurredAt).toISOString(),
        recordedAt,
      }));
      const events = checkins.map((c) => ({ seq: c.seq, name: 'checkin.recorded' as const, siteId: c.siteId, employeeId: c.employeeId, payload: c }));
      return { head, events, checkins, records: [], employees: [], voids: [], audit: [] };
    });
    return write.checkins.map((c) => c.seq);
  } finally {
    store.release();
  }
}
