import type { BadgeLookup, Employee, EmployeeCreate, EmployeeListQuery, EmployeeUpdate } from '../../shared/directory.js';
import { cacheKeys, type Cache } from '../cache/index.js';
import { inTransaction, type Knex } from '../db/knex.js';
import { AppError, NotFoundError } from '../errors.js';
import { latestPunchSite } from '../repositories/checkins.js';
import type { Scope, Who } from '../auth/actor.js';
import { requireReach } from '../policies/index.js';
import { appendAudit } from '../repositories/audit.js';
import { findEmployee, findEmployeeByBadge, insertEmployee, listEmployees, updateEmployee, type EmployeeConflict } from '../repositories/employees.js';
import { lockSiteForShare } from '../repositories/sites.js';
import { hashSecret } from '../crypto.js';

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

  /** The employee, if there is one and it is in reach. */
  async function inReach(db: Knex | Knex.Transaction, id: string, scope: Scope): Promise<Employee> {
    const employee = await findEmployee(db, id);
    if (!employee) throw new NotFoundError('employee_not_found', `no employee with id ${id}`);
    requireReach(scope, employee.siteId, `employee ${id} is at another site`);
    return employee;
  }

  // A PIN or badge is not something the audit log keeps; that it changed is.
  const auditable = ({ pin, badge, ...rest }: { pin?: string | null; badge?: string | null } & object) => ({
    ...rest,
    ...(pin === undefined ? {} : { pin: pin === null ? 'removed' : 'set' }),
    ...(badge === undefined ? {} : { badge: badge === null ? 'removed' : 'set' }),
  });

  return {
    // PINs are hashed before the transaction opens: scrypt takes tens of milliseconds and needs no locks.
    async create(input: EmployeeCreate, who: Who, scope: Scope): Promise<Employee> {
      requireReach(scope, input.siteId, 'an employee must be at one of your sites');
      const { pin, ...rest } = input;
      const pinHash = pin === undefined ? undefined : await hashSecret(pin);
      return inTransaction(db, async (trx) => {
        if (rest.siteId) await assignable(trx, rest.siteId);
        const employee = written(await insertEmployee(trx, { ...rest, pinHash }), rest.id, rest.badge);
        await appendAudit(trx, [{ who, action: 'create', entity: 'employee', entityId: employee.id, changes: auditable(input) }]);
        return employee;
      });
    },
    get: (id: string, scope: Scope) => inReach(db, id, scope),
    /** Employees at the sites in reach (those at no site: admins only). */
    list(query: EmployeeListQuery, scope: Scope) {
      if (query.siteId !== undefined) requireReach(scope, query.siteId, `site ${query.siteId} is not one of yours`);
      return listEmployees(db, query, scope);
    },
    /** Who holds a badge, for a kiosk's screen: whether to ask for a PIN, and whose name to greet. */
    async byBadge(badge: string, scope: Scope): Promise<BadgeLookup> {
      const holder = await findEmployeeByBadge(db, badge);
      if (!holder) throw new NotFoundError('unknown_badge', 'no employee has this badge');
      requireReach(scope, holder.siteId, 'this badge belongs to another site');
      return { employeeId: holder.id, name: holder.name, siteId: holder.siteId, hasPin: holder.pinHash !== null, active: holder.active };
    },
    async update(id: string, patch: EmployeeUpdate, who: Who, scope: Scope): Promise<Employee> {
      if (patch.siteId !== undefined) requireReach(scope, patch.siteId, 'an employee can move only to one of your sites');
      const { pin, ...rest } = patch;
      // null removes the PIN; undefined leaves it.
      const pinHash = pin ? await hashSecret(pin) : pin;
      const employee = await inTransaction(db, async (trx) => {
        await inReach(trx, id, scope);
        if (rest.siteId) await assignable(trx, rest.siteId);
        const employee = written(await updateEmployee(trx, id, { ...rest, pinHash }), id, rest.badge);
        await appendAudit(trx, [{ who, action: 'update', entity: 'employee', entityId: id, changes: auditable(patch) }]);
        return employee;
      });
      if (rest.name !== undefined || rest.active !== undefined) await presenceChanged(id);
      // The cached latest record carries the site it is authorized by.
      if (rest.siteId !== undefined) await cache.invalidate([cacheKeys.latestRecord(id)]);
      return employee;
    },
    /** Idempotent: deactivating an inactive employee answers it as it is now. */
    async deactivate(id: string, who: Who, scope: Scope): Promise<Employee> {
      const employee = await inTransaction(db, async (trx) => {
        await inReach(trx, id, scope);
        const employee = written(await updateEmployee(trx, id, { active: false }), id);
        await appendAudit(trx, [{ who, action: 'deactivate', entity: 'employee', entityId: id }]);
        return employee;
      });
      await presenceChanged(id);
      return employee;
    },
  };
}
