import type { Employee, EmployeeCreate, EmployeeListQuery, EmployeeUpdate } from '../../shared/directory.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { findEmployee, insertEmployee, listEmployees, updateEmployee, type EmployeeConflict } from '../repositories/employees.js';
import { lockSiteForShare } from '../repositories/sites.js';
import { hashPin } from './pin.js';

export type EmployeeService = ReturnType<typeof createEmployeeService>;

export function createEmployeeService(deps: { db: Knex }) {
  const { db } = deps;

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
      return inTransaction(db, async (trx) => {
        if (rest.siteId) await assignable(trx, rest.siteId);
        return written(await updateEmployee(trx, id, { ...rest, pinHash }), id, rest.badge);
      });
    },
    /** Idempotent: deactivating an inactive employee answers it as it is now. */
    deactivate: async (id: string) => written(await updateEmployee(db, id, { active: false }), id),
  };
}
