import type { Role } from '../auth/actor.js';
import type { Policy } from './policy.js';

/**
 * Who may do what, one table per resource (issue 14's roles): admin everything; manager its sites'
 * employees, check-ins, presence, reports and live events; kiosk check-ins for its sites' employees
 * and the badge look-up that needs; dashboard its sites' presence, check-ins and live events.
 */
export const sites: Policy<'list' | 'read' | 'create' | 'update'> = {
  list: ['admin', 'manager', 'kiosk', 'dashboard'],
  read: ['admin', 'manager', 'kiosk', 'dashboard'],
  create: ['admin'],
  update: ['admin'],
};

export const employees: Policy<'list' | 'read' | 'create' | 'update' | 'badge'> = {
  list: ['admin', 'manager'],
  read: ['admin', 'manager'],
  create: ['admin', 'manager'],
  update: ['admin', 'manager'],
  badge: ['admin', 'manager', 'kiosk'],
};

export const checkins: Policy<'punch' | 'correct' | 'list'> = {
  punch: ['admin', 'manager', 'kiosk'],
  /** Punches on an employee's behalf with a reason, and voids. */
  correct: ['admin', 'manager'],
  list: ['admin', 'manager', 'dashboard'],
};

/** Who must prove the PIN of an employee who has one, even when naming the employee by id. */
export const punchesNeedPin: readonly Role[] = ['kiosk'];

export const presence: Policy<'read'> = { read: ['admin', 'manager', 'dashboard'] };

export const reports: Policy<'read'> = { read: ['admin', 'manager'] };

/** The older Attendance API's records. */
export const records: Policy<'create' | 'read'> = { create: ['admin', 'manager'], read: ['admin', 'manager'] };

export const events: Policy<'subscribe'> = { subscribe: ['admin', 'manager', 'dashboard'] };

export const tokens: Policy<'manage'> = { manage: ['admin'] };
export const webhooks: Policy<'manage'> = { manage: ['admin'] };
export const users: Policy<'manage'> = { manage: ['admin'] };
export const audit: Policy<'read'> = { read: ['admin'] };

/** Scraping /metrics with a credential of the hub's (when METRICS_TOKEN is unset). */
export const metrics: Policy<'read'> = { read: ['admin'] };

/** Shifts, assignments, holidays and leave: kept by admins and each site's managers. */
export const schedule: Policy<'read' | 'manage'> = { read: ['admin', 'manager'], manage: ['admin', 'manager'] };
