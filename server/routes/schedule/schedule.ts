import Router from '@koa/router';
import type { Middleware } from 'koa';
import { PathParams } from '../../../shared/directory.js';
import {
  AssignmentCreate,
  AssignmentPathParams,
  HolidayCreate,
  HolidayListQuery,
  HolidayPathParams,
  LeaveCreate,
  LeavePathParams,
  ShiftCreate,
  ShiftPathParams,
  ShiftUpdate,
} from '../../../shared/schedule.js';
import { policies, scopeOf } from '../../policies/index.js';
import type { ScheduleService } from '../../services/schedule/index.js';
import { parse } from '../../validate.js';
import type { HubState } from '../state.js';

/** Shifts and holidays per site; shift assignments and leave per employee. Admins and the site's managers. */
export function scheduleRouter(deps: { schedule: ScheduleService; body: Middleware }) {
  const router = new Router<HubState>({ prefix: '/api/v1' });
  const { body, schedule } = deps;
  const read = (ctx: { state: HubState }) => scopeOf(ctx.state.actor, policies.schedule, 'read');
  const manage = (ctx: { state: HubState }) => scopeOf(ctx.state.actor, policies.schedule, 'manage');

  router.get('/sites/:id/shifts', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await schedule.listShifts(id, read(ctx)) };
  });

  router.post('/sites/:id/shifts', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const input = parse(ShiftCreate, ctx.request.body);
    ctx.body = { data: await schedule.createShift(id, input, ctx.state.who, manage(ctx)) };
    ctx.status = 201;
  });

  router.patch('/sites/:id/shifts/:shiftId', body, async (ctx) => {
    const { id, shiftId } = parse(ShiftPathParams, ctx.params);
    const patch = parse(ShiftUpdate, ctx.request.body);
    ctx.body = { data: await schedule.updateShift(id, shiftId, patch, ctx.state.who, manage(ctx)) };
  });

  router.get('/sites/:id/holidays', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const query = parse(HolidayListQuery, ctx.query);
    ctx.body = { data: await schedule.listHolidays(id, query, read(ctx)) };
  });

  router.post('/sites/:id/holidays', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const input = parse(HolidayCreate, ctx.request.body);
    ctx.body = { data: await schedule.addHoliday(id, input, ctx.state.who, manage(ctx)) };
    ctx.status = 201;
  });

  router.delete('/sites/:id/holidays/:date', async (ctx) => {
    const { id, date } = parse(HolidayPathParams, ctx.params);
    ctx.body = { data: await schedule.removeHoliday(id, date, ctx.state.who, manage(ctx)) };
  });

  router.get('/employees/:id/shift-assignments', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await schedule.listAssignments(id, read(ctx)) };
  });

  router.post('/employees/:id/shift-assignments', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const input = parse(AssignmentCreate, ctx.request.body);
    ctx.body = { data: await schedule.assign(id, input, ctx.state.who, manage(ctx)) };
    ctx.status = 201;
  });

  router.delete('/employees/:id/shift-assignments/:assignmentId', async (ctx) => {
    const { id, assignmentId } = parse(AssignmentPathParams, ctx.params);
    ctx.body = { data: await schedule.unassign(id, assignmentId, ctx.state.who, manage(ctx)) };
  });

  router.get('/employees/:id/leave', async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    ctx.body = { data: await schedule.listLeave(id, read(ctx)) };
  });

  router.post('/employees/:id/leave', body, async (ctx) => {
    const { id } = parse(PathParams, ctx.params);
    const input = parse(LeaveCreate, ctx.request.body);
    ctx.body = { data: await schedule.addLeave(id, input, ctx.state.who, manage(ctx)) };
    ctx.status = 201;
  });

  router.delete('/employees/:id/leave/:leaveId', async (ctx) => {
    const { id, leaveId } = parse(LeavePathParams, ctx.params);
    ctx.body = { data: await schedule.removeLeave(id, leaveId, ctx.state.who, manage(ctx)) };
  });

  return router;
}
