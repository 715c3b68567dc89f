import type { Assignment, Holiday, Leave, LeaveCreate, Shift, ShiftCreate, ShiftUpdate } from '../../shared/schedule.js';
import type { Knex } from '../db/knex.js';

type Db = Knex | Knex.Transaction;

const SHIFTS = 'shifts';
const ASSIGNMENTS = 'shift_assignments';
const HOLIDAYS = 'holidays';
const LEAVE = 'leave';

const SHIFT_COLUMNS = [
  'id',
  'site_id',
  'name',
  'start_time',
  'end_time',
  'weekdays',
  'break_minutes',
  'late_grace_minutes',
  'early_grace_minutes',
  'check_in_before_minutes',
  'half_day_below_minutes',
  'overtime_after_minutes',
  'active',
  'created_at',
  'updated_at',
];

type ShiftRow = {
  id: string;
  site_id: string;
  name: string;
  start_time: string;
  end_time: string;
  weekdays: number[];
  break_minutes: number;
  late_grace_minutes: number;
  early_grace_minutes: number;
  check_in_before_minutes: number;
  half_day_below_minutes: number | null;
  overtime_after_minutes: number;
  active: boolean;
  created_at: Date;
  updated_at: Date;
};

const shiftFromRow = (r: ShiftRow): Shift => ({
  id: r.id,
  siteId: r.site_id,
  name: r.name,
  start: r.start_time,
  end: r.end_time,
  weekdays: r.weekdays,
  breakMinutes: r.break_minutes,
  lateGraceMinutes: r.late_grace_minutes,
  earlyGraceMinutes: r.early_grace_minutes,
  checkInBeforeMinutes: r.check_in_before_minutes,
  halfDayBelowMinutes: r.half_day_below_minutes,
  overtimeAfterMinutes: r.overtime_after_minutes,
  active: r.active,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const SHIFT_FIELDS: Record<keyof ShiftUpdate, string> = {
  name: 'name',
  start: 'start_time',
  end: 'end_time',
  weekdays: 'weekdays',
  breakMinutes: 'break_minutes',
  lateGraceMinutes: 'late_grace_minutes',
  earlyGraceMinutes: 'early_grace_minutes',
  checkInBeforeMinutes: 'check_in_before_minutes',
  halfDayBelowMinutes: 'half_day_below_minutes',
  overtimeAfterMinutes: 'overtime_after_minutes',
  active: 'active',
};

const shiftRow = (values: Partial<ShiftCreate & ShiftUpdate>) =>
  Object.fromEntries(Object.entries(values).flatMap(([k, v]) => (k in SHIFT_FIELDS && v !== undefined ? [[SHIFT_FIELDS[k as keyof ShiftUpdate], v]] : [])));

/** The new shift, or undefined when the id is taken. */
export async function insertShift(db: Db, siteId: string, s: ShiftCreate): Promise<Shift | undefined> {
  const [row] = await db(SHIFTS)
    .insert({ id: s.id, site_id: siteId, ...shiftRow(s) })
    .onConflict('id')
    .ignore()
    .returning(SHIFT_COLUMNS);
  return row && shiftFromRow(row);
}

export async function updateShift(db: Db, id: string, patch: ShiftUpdate): Promise<Shift | undefined> {
  const [row] = await db(SHIFTS)
    .where({ id })
    .update({ ...shiftRow(patch), updated_at: db.fn.now() })
    .returning(SHIFT_COLUMNS);
  return row && shiftFromRow(row);
}

export async function findShift(db: Db, id: string): Promise<Shift | undefined> {
  const row = await db(SHIFTS).where({ id }).first(SHIFT_COLUMNS);
  return row && shiftFromRow(row);
}

export async function listShifts(db: Db, siteId: string): Promise<Shift[]> {
  return (await db(SHIFTS).where({ site_id: siteId }).orderBy('id').select(SHIFT_COLUMNS)).map(shiftFromRow);
}

/** The shifts with these ids, by id. */
export async function shiftsById(db: Db, ids: string[]): Promise<Map<string, Shift>> {
  if (!ids.length) return new Map();
  const rows: ShiftRow[] = await db(SHIFTS).whereIn('id', ids).select(SHIFT_COLUMNS);
  return new Map(rows.map((r) => [r.id, shiftFromRow(r)]));
}

type AssignmentRow = { id: number; employee_id: string; shift_id: string; from_date: string; to_date: string | null; created_at: Date };
// `date` columns come back as 'YYYY-MM-DD' text (server/db/knex.ts), never as a zone-shifted Date.
const ASSIGNMENT_COLUMNS = ['id', 'employee_id', 'shift_id', 'from_date', 'to_date', 'created_at'];

const assignmentFromRow = (r: AssignmentRow): Assignment => ({
  id: String(r.id),
  employeeId: r.employee_id,
  shiftId: r.shift_id,
  from: r.from_date,
  to: r.to_date,
  createdAt: r.created_at.toISOString(),
});

/**
 * A new assignment; an open-ended one ends the open-ended assignment that began before it (the day
 * before it starts). Bounded ones overlay what is there for their dates.
 */
export async function insertAssignment(trx: Knex.Transaction, employeeId: string, a: { shiftId: string; from: string; to: string | null }): Promise<{ created: Assignment; ended: Assignment[] }> {
  let ended: Assignment[] = [];
  // Two assignments for one employee at once: the second waits, then ends the first.
  await trx('employees').where({ id: employeeId }).forUpdate().first('id');
  if (a.to === null) {
    const rows: AssignmentRow[] = await trx(ASSIGNMENTS)
      .where({ employee_id: employeeId })
      .whereNull('to_date')
      .where('from_date', '<', a.from)
      .update({ to_date: trx.raw(`?::date - 1`, [a.from]) })
      .returning(ASSIGNMENT_COLUMNS);
    ended = rows.map(assignmentFromRow);
  }
  const [row] = await trx(ASSIGNMENTS).insert({ employee_id: employeeId, shift_id: a.shiftId, from_date: a.from, to_date: a.to }).returning(ASSIGNMENT_COLUMNS);
  return { created: assignmentFromRow(row), ended };
}

export async function deleteAssignment(db: Db, employeeId: string, id: string): Promise<Assignment | undefined> {
  const [row] = await db(ASSIGNMENTS).where({ id, employee_id: employeeId }).delete().returning(ASSIGNMENT_COLUMNS);
  return row && assignmentFromRow(row);
}

export async function listAssignments(db: Db, employeeId: string): Promise<Assignment[]> {
  return (await db(ASSIGNMENTS).where({ employee_id: employeeId }).orderBy([{ column: 'from_date' }, { column: 'id' }]).select(ASSIGNMENT_COLUMNS)).map(assignmentFromRow);
}

/** Every assignment of these employees that overlaps from..to, by employee. */
export async function assignmentsDuring(db: Db, employeeIds: string[], from: string, to: string): Promise<Map<string, Assignment[]>> {
  const byEmployee = new Map<string, Assignment[]>();
  if (!employeeIds.length) return byEmployee;
  const rows: AssignmentRow[] = await db(ASSIGNMENTS)
    .whereIn('employee_id', employeeIds)
    .where('from_date', '<=', to)
    .where((q) => q.whereNull('to_date').orWhere('to_date', '>=', from))
    .orderBy('id')
    .select(ASSIGNMENT_COLUMNS);
  for (const r of rows) {
    const list = byEmployee.get(r.employee_id) ?? [];
    list.push(assignmentFromRow(r));
    byEmployee.set(r.employee_id, list);
  }
  return byEmployee;
}

/** The holiday, or undefined when the site already has one that day. */
export async function insertHoliday(db: Db, siteId: string, h: { date: string; name: string }): Promise<Holiday | undefined> {
  const [row] = await db(HOLIDAYS).insert({ site_id: siteId, date: h.date, name: h.name }).onConflict(['site_id', 'date']).ignore().returning(['site_id', 'date', 'name']);
  return row && { siteId: row.site_id, date: row.date, name: row.name };
}

export async function deleteHoliday(db: Db, siteId: string, date: string): Promise<Holiday | undefined> {
  const [row] = await db(HOLIDAYS).where({ site_id: siteId, date }).delete().returning(['site_id', 'date', 'name']);
  return row && { siteId: row.site_id, date: row.date, name: row.name };
}

/** The site's holidays from..to (either bound optional), by date. */
export async function listHolidays(db: Db, siteIds: string[], from?: string, to?: string): Promise<Holiday[]> {
  if (!siteIds.length) return [];
  const query = db(HOLIDAYS).whereIn('site_id', siteIds).orderBy(['site_id', 'date']).select('site_id', 'date', 'name');
  if (from) query.where('date', '>=', from);
  if (to) query.where('date', '<=', to);
  return (await query).map((r) => ({ siteId: r.site_id, date: r.date, name: r.name }));
}

type LeaveRow = { id: number; employee_id: string; kind: Leave['kind']; from_date: string; to_date: string; note: string | null; created_at: Date };
const LEAVE_COLUMNS = ['id', 'employee_id', 'kind', 'from_date', 'to_date', 'note', 'created_at'];
const leaveFromRow = (r: LeaveRow): Leave => ({ id: String(r.id), employeeId: r.employee_id, kind: r.kind, from: r.from_date, to: r.to_date, note: r.note, createdAt: r.created_at.toISOString() });

export async function insertLeave(db: Db, employeeId: string, l: LeaveCreate): Promise<Leave> {
  const [row] = await db(LEAVE).insert({ employee_id: employeeId, kind: l.kind, from_date: l.from, to_date: l.to, note: l.note }).returning(LEAVE_COLUMNS);
  return leaveFromRow(row);
}

export async function deleteLeave(db: Db, employeeId: string, id: string): Promise<Leave | undefined> {
  const [row] = await db(LEAVE).where({ id, employee_id: employeeId }).delete().returning(LEAVE_COLUMNS);
  return row && leaveFromRow(row);
}

export async function listLeave(db: Db, employeeId: string): Promise<Leave[]> {
  return (await db(LEAVE).where({ employee_id: employeeId }).orderBy([{ column: 'from_date' }, { column: 'id' }]).select(LEAVE_COLUMNS)).map(leaveFromRow);
}

/** Leave of these employees overlapping from..to, by employee. */
export async function leaveDuring(db: Db, employeeIds: string[], from: string, to: string): Promise<Map<string, Leave[]>> {
  const byEmployee = new Map<string, Leave[]>();
  if (!employeeIds.length) return byEmployee;
  const rows: LeaveRow[] = await db(LEAVE).whereIn('employee_id', employeeIds).where('from_date', '<=', to).where('to_date', '>=', from).select(LEAVE_COLUMNS);
  for (const r of rows) {
    const list = byEmployee.get(r.employee_id) ?? [];
    list.push(leaveFromRow(r));
    byEmployee.set(r.employee_id, list);
  }
  return byEmployee;
}
