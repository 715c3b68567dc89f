import type { Assignment, AssignmentCreate, Holiday, HolidayCreate, HolidayListQuery, Leave, LeaveCreate, Shift, ShiftCreate, ShiftUpdate } from '../../../shared/schedule.js';
import type { Scope, Who } from '../../auth/actor.js';
import { inTransaction, type Knex } from '../../db/knex.js';
import { AppError, NotFoundError } from '../../errors.js';
import { requireReach } from '../../policies/index.js';
import { appendAudit } from '../../repositories/audit.js';
import { findEmployee } from '../../repositories/employees.js';
import {
  deleteAssignment,
  deleteHoliday,
  deleteLeave,
  findShift,
  insertAssignment,
  insertHoliday,
  insertLeave,
  insertShift,
  listAssignments,
  listHolidays,
  listLeave,
  listShifts,
  updateShift,
} from '../../repositories/schedule.js';
import { findSite } from '../../repositories/sites.js';

export type ScheduleService = ReturnType<typeof createScheduleService>;

/**
 * Shifts, assignments, holidays and leave: what a site's manager keeps so the hub knows who is
 * expected when. Every change is audited in its transaction; everything is scoped to the sites the
 * caller reaches (an employee's site decides for their assignments and leave).
 */
export function createScheduleService(deps: { db: Knex }) {
  const { db } = deps;

  async function site(id: string, scope: Scope): Promise<void> {
    requireReach(scope, id, `site ${id} is not one of yours`);
    if (!(await findSite(db, id))) throw new NotFoundError('site_not_found', `no site with id ${id}`);
  }

  async function shiftOf(siteId: string, shiftId: string, trx: Knex | Knex.Transaction = db): Promise<Shift> {
    const shift = await findShift(trx, shiftId);
    if (!shift || shift.siteId !== siteId) throw new NotFoundError('shift_not_found', `site ${siteId} has no shift ${shiftId}`);
    return shift;
  }

  async function employee(id: string, scope: Scope): Promise<{ siteId: string | null }> {
    const found = await findEmployee(db, id);
    if (!found) throw new NotFoundError('employee_not_found', `no employee with id ${id}`);
    requireReach(scope, found.siteId, `employee ${id} is at another site`);
    return found;
  }

  return {
    async listShifts(siteId: string, scope: Scope): Promise<Shift[]> {
      await site(siteId, scope);
      return listShifts(db, siteId);
    },

    async createShift(siteId: string, input: ShiftCreate, who: Who, scope: Scope): Promise<Shift> {
      await site(siteId, scope);
      return inTransaction(db, async (trx) => {
        const shift = await insertShift(trx, siteId, input);
        if (!shift) throw new AppError(409, 'shift_exists', `a shift with id ${input.id} already exists`);
        await appendAudit(trx, [{ who, action: 'create', entity: 'shift', entityId: shift.id, changes: { siteId, ...input } }]);
        return shift;
      });
    },

    async updateShift(siteId: string, shiftId: string, patch: ShiftUpdate, who: Who, scope: Scope): Promise<Shift> {
      await site(siteId, scope);
      return inTransaction(db, async (trx) => {
        await shiftOf(siteId, shiftId, trx);
        const shift = (await updateShift(trx, shiftId, patch))!;
        await appendAudit(trx, [{ who, action: 'update', entity: 'shift', entityId: shiftId, changes: patch }]);
        return shift;
      });
    },

    async listAssignments(employeeId: string, scope: Scope): Promise<Assignment[]> {
      await employee(employeeId, scope);
      return listAssignments(db, employeeId);
    },

    /** A shift of the employee's own site; an open-ended assignment ends the open-ended one before it. */
    async assign(employeeId: string, input: AssignmentCreate, who: Who, scope: Scope): Promise<Assignment> {
      const { siteId } = await employee(employeeId, scope);
      return inTransaction(db, async (trx) => {
        const shift = await findShift(trx, input.shiftId);
        if (!shift) throw new NotFoundError('shift_not_found', `no shift with id ${input.shiftId}`);
        if (shift.siteId !== siteId) throw new AppError(409, 'shift_at_other_site', `shift ${shift.id} is at site ${shift.siteId}, employee ${employeeId} at ${siteId ?? 'no site'}`);
        if (!shift.active) throw new AppError(409, 'shift_inactive', `shift ${shift.id} is inactive`);
        const { created, ended } = await insertAssignment(trx, employeeId, input);
        await appendAudit(trx, [
          { who, action: 'assign', entity: 'employee', entityId: employeeId, changes: { assignment: created.id, ...input } },
          ...ended.map((a) => ({ who, action: 'end', entity: 'shift_assignment', entityId: a.id, changes: { to: a.to } })),
        ]);
        return created;
      });
    },

    async unassign(employeeId: string, assignmentId: string, who: Who, scope: Scope): Promise<Assignment> {
      await employee(employeeId, scope);
      return inTransaction(db, async (trx) => {
        const removed = await deleteAssignment(trx, employeeId, assignmentId);
        if (!removed) throw new NotFoundError('assignment_not_found', `employee ${employeeId} has no assignment ${assignmentId}`);
        await appendAudit(trx, [{ who, action: 'delete', entity: 'shift_assignment', entityId: assignmentId, changes: removed }]);
        return removed;
      });
    },

    async listHolidays(siteId: string, query: HolidayListQuery, scope: Scope): Promise<Holiday[]> {
      await site(siteId, scope);
      return listHolidays(db, [siteId], query.from, query.to);
    },

    async addHoliday(siteId: string, input: HolidayCreate, who: Who, scope: Scope): Promise<Holiday> {
      await site(siteId, scope);
      return inTransaction(db, async (trx) => {
        const holiday = await insertHoliday(trx, siteId, input);
        if (!holiday) throw new AppError(409, 'holiday_exists', `site ${siteId} already has a holiday on ${input.date}`);
        await appendAudit(trx, [{ who, action: 'create', entity: 'holiday', entityId: `${siteId}/${input.date}`, changes: input }]);
        return holiday;
      });
    },

    async removeHoliday(siteId: string, date: string, who: Who, scope: Scope): Promise<Holiday> {
      await site(siteId, scope);
      return inTransaction(db, async (trx) => {
        const holiday = await deleteHoliday(trx, siteId, date);
        if (!holiday) throw new NotFoundError('holiday_not_found', `site ${siteId} has no holiday on ${date}`);
        await appendAudit(trx, [{ who, action: 'delete', entity: 'holiday', entityId: `${siteId}/${date}`, changes: holiday }]);
        return holiday;
      });
    },

    async listLeave(employeeId: string, scope: Scope): Promise<Leave[]> {
      await employee(employeeId, scope);
      return listLeave(db, employeeId);
    },

    async addLeave(employeeId: string, input: LeaveCreate, who: Who, scope: Scope): Promise<Leave> {
      await employee(employeeId, scope);
      return inTransaction(db, async (trx) => {
        const leave = await insertLeave(trx, employeeId, input);
        await appendAudit(trx, [{ who, action: 'create', entity: 'leave', entityId: leave.id, changes: { employeeId, ...input } }]);
        return leave;
      });
    },

    async removeLeave(employeeId: string, leaveId: string, who: Who, scope: Scope): Promise<Leave> {
      await employee(employeeId, scope);
      return inTransaction(db, async (trx) => {
        const leave = await deleteLeave(trx, employeeId, leaveId);
        if (!leave) throw new NotFoundError('leave_not_found', `employee ${employeeId} has no leave ${leaveId}`);
        await appendAudit(trx, [{ who, action: 'delete', entity: 'leave', entityId: leaveId, changes: leave }]);
        return leave;
      });
    },
  };
}
