import type { Expected } from '../../shared/schemas.js';
import type { Knex } from '../db/knex.js';
import { latestArrivals } from '../repositories/arrivals.js';
import { findSite, pageSiteEmployees } from '../repositories/attendance.js';
import { readHead } from '../repositories/events.js';
import { NotFoundError } from '../errors.js';
import { horizonOf, nextChange, notArrived, runsGoing, type Going } from './schedule/expected.js';
import { loadPlans } from './schedule/plans.js';

/** Employees per read: bounds each query however large the site. */
const PAGE_SIZE = 500;

/**
 * Who the site expects now and has not seen (the rules: schedule/expected.ts), reading a page of its
 * active employees at a time. Not cached: a dashboard asks on subscribe, on resume and at
 * `changesAt`, and so every answer sees the latest punch, assignment, leave and holiday without any
 * of their writers having to invalidate it. `present`: who is in at the site now.
 */
export async function expectedAt(db: Knex, siteId: string, present: ReadonlySet<string>, now: Date): Promise<Expected> {
  // Read first: every event up to it is committed, so the check-ins read below hold them all.
  const seq = await readHead(db);
  const site = await findSite(db, siteId);
  if (!site) throw new NotFoundError('site_not_found', `no site with id ${siteId}`);
  const horizon = horizonOf(now, site.timeZone);
  const waiting: Going[] = [];
  const arrived = new Map<string, Date>();
  let nextStart: Date | null = null;
  for (let after: string | null = null; ; ) {
    const employees = await pageSiteEmployees(db, site, after, PAGE_SIZE);
    const page = runsGoing(employees, await loadPlans(db, employees, horizon.dates[0], horizon.dates[2]), horizon, now);
    if (page.nextStart && (!nextStart || page.nextStart < nextStart)) nextStart = page.nextStart;
    const going = page.going.filter((g) => !present.has(g.employee.id));
    if (going.length) {
      // Only these people's check-ins, and only since the earliest of their windows opened.
      const since = new Date(Math.min(...going.map((g) => g.run.opens.getTime())));
      for (const [id, at] of await latestArrivals(db, site.id, going.map((g) => g.employee.id), since)) arrived.set(id, at);
      waiting.push(...going);
    }
    if (employees.length < PAGE_SIZE) break;
    after = employees.at(-1)!.id;
  }
  const entries = notArrived(waiting, arrived, present, now);
  return { asOf: now.toISOString(), seq, changesAt: nextChange(nextStart, entries, horizon).toISOString(), entries };
}
