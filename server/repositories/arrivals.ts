import type { Knex } from '../db/knex.js';
import { TABLE as CHECKINS } from './checkins.js';

/**
 * Each employee's latest check-in at the site (or without a site, which counts at their own) since
 * an instant, voided ones left out: whether they have arrived for a run whose window opened then or
 * later. The (employee_id, occurred_at) index serves it.
 */
export async function latestArrivals(db: Knex, siteId: string, employeeIds: string[], since: Date): Promise<Map<string, Date>> {
  if (!employeeIds.length) return new Map();
  const rows: Array<{ employee_id: string; at: Date }> = await db(CHECKINS)
    .whereIn('employee_id', employeeIds)
    .where('type', 'in')
    .whereNull('voided_seq')
    .where('occurred_at', '>=', since)
    .where((q) => q.where('site_id', siteId).orWhereNull('site_id'))
    .groupBy('employee_id')
    .select('employee_id', db.raw('max(occurred_at) as at'));
  return new Map(rows.map((r) => [r.employee_id, r.at]));
}
