import type { Employee, EmployeeCreate, EmployeeListQuery, EmployeeUpdate } from '../../shared/directory.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { latestPunchSite } from '../repositories/checkins.js';
import { findEmployee, insertEmployee, listEmployees, updateEmployee, type EmployeeConflict } from '../repositories/employees.js';
import { lockSiteForShare } from '../repositories/sites.js';
import { hashPin } from './pin.js';

export type EmployeeService = ReturnType<typeof createEmployeeService>;

export function createEmployeeService(deps: { db: Knex; cache: Cache }) {
  const { db, cache } = deps;

  /** An employee may only be assigned to a site that exists and is active (locked until commit). */
  async function assignable(trx: Knex.Transaction, siteId: string): Promise<void> {
    const site = await lockSiteForShare(trx, siteId);
    if (!site) throw new NotFoundError('unknown_site', `no site with id ${siteId}`);
    if (!site.active) throw new AppError(409, 'site_inactive', `site ${siteId} is inactive`);
  }

  function written(result: Employee | EmployeeConflict | undefined, id: string, badge?: string | null): Employee {
    if (result === undefined) throw new NotFoundError('employee_not_found', `no employee with id ${id}`);
    if (result === 'id_taken') throw new AppError(409, 'employee_exists', `an employee with id ${id} already exists`);
    if (result === 'badge_taken') throw new AppError(409, 'badge_taken', `badge ${badge} belongs to another employee`);
    return result;
  }

  /**
   * Cached presence holds names and leaves out inactive employees, so a change to either makes it stale
   * once it commits: at the site of the employee's latest punch, the only one whose presence can list them.
   */
  async function presenceChanged(employeeId: string): Promise<void> {
    const site = await latestPunchSite(db, employeeId);
    if (site) await cache.invalidate([cacheKeys.presence(site)]);
  }

  return {
    // PINs are hashed before the transaction opens: scrypt takes tens of milliseconds and needs no locks.
    async create(input: EmployeeCreate): Promise<Employee> {
      const { pin, ...rest } = input;
      const pinHash = pin === undefined ? undefined : await hashPin(pin);
      return inTransaction(db, async (trx) => {
        if (rest.siteId) await assignable(trx, rest.siteId);
        return written(await insertEmployee(trx, { ...rest, pinHash }), rest.id, rest.badge);
      });
    },
    async get(id: string): Promise<Employee> {
      const employee = await findEmployee(db, id);
      if (!employee) throw new NotFoundError('employee_not_found', `no employee with id ${id}`);
      return employee;
    },
    list: (query: EmployeeListQuery) => listEmployees(db, query),
    async update(id: string, patch: EmployeeUpdate): Promise<Employee> {
      const { pin, ...rest } = patch;
      // null removes the PIN; undefined leaves it.
      const pinHash = pin ? await hashPin(pin) : pin;
      const employee = await inTransaction(db, async (trx) => {
        if (rest.siteId) await assignable(trx, rest.siteId);
        return written(await updateEmployee(trx, id, { ...rest, pinHash }), id, rest.badge);
      });
      if (rest.name !== undefined || rest.active !== undefined) await presenceChanged(id);
      return employee;
    },
    /** Idempotent: deactivating an inactive employee answers it as it is now. */
    async deactivate(id: string): Promise<Employee> {
      const employee = written(await updateEmployee(db, id, { active: false }), id);
      await presenceChanged(id);
      return employee;
    },
  };
}
