import { randomUUID } from 'node:crypto';
import type { Knex } from '../../server/db/knex.js';

export async function makeSite(db: Knex, site: { id: string; name?: string; timeZone?: string }) {
  await db('sites').insert({ id: site.id, name: site.name ?? site.id, time_zone: site.timeZone ?? 'UTC' });
}

export async function makeEmployee(db: Knex, e: { id: string; name?: string; siteId?: string | null; badge?: string; active?: boolean }) {
  await db('employees').insert({ id: e.id, name: e.name ?? e.id, site_id: e.siteId ?? null, badge: e.badge ?? null, active: e.active ?? true });
}

/**
 * Store check-ins directly, bypassing the hub's rules (for report fixtures such as a forgotten
 * check-out). Seqs come from the counter, as the hub does, so events and checkins stay consistent.
 */
export async function storeCheckins(
  db: Knex,
  punches: Array<{ employeeId: string; siteId?: string | null; type: 'in' | 'out'; occurredAt: string }>,
): Promise<number[]> {
  return db.transaction(async (trx) => {
    const { value } = await trx('event_seq').where({ id: 1 }).forUpdate().first('value');
    const seqs: number[] = [];
    let seq = Number(value);
    for (const p of punches) {
      seq += 1;
      const checkin = {
        seq,
        eventId: randomUUID(),
        employeeId: p.employeeId,
        siteId: p.siteId ?? null,
        deviceId: null,
        type: p.type,
        occurredAt: new Date(p.occurredAt).toISOString(),
        recordedAt: new Date().toISOString(),
      };
      await trx('events').insert({ seq, kind: 'checkin.recorded', site_id: checkin.siteId, employee_id: p.employeeId, data: JSON.stringify(checkin) });
      await trx('checkins').insert({
        seq,
        event_id: checkin.eventId,
        employee_id: p.employeeId,
        site_id: checkin.siteId,
        type: p.type,
        occurred_at: checkin.occurredAt,
        recorded_at: checkin.recordedAt,
      });
      seqs.push(seq);
    }
    await trx('event_seq').where({ id: 1 }).update({ value: seq });
    return seqs;
  });
}
