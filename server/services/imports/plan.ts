import type { Employee } from '../../../shared/directory.js';
import type { EmployeeImportRow, ImportProblem } from '../../../shared/bulk.js';
import { reaches, type Scope } from '../../auth/actor.js';

/** A row as read: its line in the file, and its fields (empty cells left out), or why they are not valid. */
export type ReadRow = { line: number; id: string | null; row?: EmployeeImportRow; problems: ImportProblem[] };

/** What a valid row does: create, change the fields that differ, or nothing. */
export type Step =
  | { action: 'create'; line: number; row: EmployeeImportRow & { name: string } }
  | { action: 'update'; line: number; row: EmployeeImportRow; before: Employee }
  | { action: 'unchanged'; line: number; row: EmployeeImportRow };

/** What the rules read of the hub: the employees the file names, who holds its badges, and which of its sites exist (and are active). */
export type Known = { employees: Map<string, Employee>; badgeHolders: Map<string, string>; sites: Map<string, boolean> };

const problem = (r: { line: number; id: string | null }, column: string | null, code: string, message: string): ImportProblem => ({ line: r.line, id: r.id, column, code, message });

/**
 * Every row judged against the file and the hub as they stand, every problem of every row reported:
 * an import is written whole or not at all. Pure: what it reads is handed to it.
 */
export function planImport(rows: ReadRow[], known: Known, scope: Scope): { steps: Step[]; problems: ImportProblem[] } {
  const problems = rows.flatMap((r) => r.problems);
  const steps: Step[] = [];
  const firstLineOf = new Map<string, number>();
  const badgeLine = new Map<string, number>();
  for (const r of rows) {
    const row = r.row;
    if (!row) continue;
    const before = known.employees.get(row.id);
    const own: ImportProblem[] = [];
    const seen = firstLineOf.get(row.id);
    if (seen !== undefined) own.push(problem(r, 'id', 'duplicate_row', `employee ${row.id} is on line ${seen} too`));
    else firstLineOf.set(row.id, r.line);
    if (!before && row.name === undefined) own.push(problem(r, 'name', 'name_required', `employee ${row.id} is new: a name is required`));
    if (before && !reaches({ sites: scope }, before.siteId)) own.push(problem(r, 'id', 'forbidden', `employee ${row.id} is at another site`));
    const siteId = row.siteId ?? before?.siteId ?? null;
    if (!before && !reaches({ sites: scope }, siteId)) own.push(problem(r, 'siteId', 'forbidden', 'an employee must be at one of your sites'));
    if (row.siteId !== undefined) {
      const active = known.sites.get(row.siteId);
      if (active === undefined) own.push(problem(r, 'siteId', 'unknown_site', `no site with id ${row.siteId}`));
      else if (!active) own.push(problem(r, 'siteId', 'site_inactive', `site ${row.siteId} is inactive`));
      else if (before && !reaches({ sites: scope }, row.siteId)) own.push(problem(r, 'siteId', 'forbidden', 'an employee can move only to one of your sites'));
    }
    if (row.badge !== undefined) {
      const holder = known.badgeHolders.get(row.badge);
      const other = badgeLine.get(row.badge);
      if (holder !== undefined && holder !== row.id) own.push(problem(r, 'badge', 'badge_taken', `badge ${row.badge} belongs to employee ${holder}`));
      else if (other !== undefined) own.push(problem(r, 'badge', 'badge_taken', `badge ${row.badge} is on line ${other} too`));
      badgeLine.set(row.badge, r.line);
    }
    problems.push(...own);
    if (own.length) continue;
    if (!before) steps.push({ action: 'create', line: r.line, row: { ...row, name: row.name! } });
    else steps.push(changes(row, before) ? { action: 'update', line: r.line, row, before } : { action: 'unchanged', line: r.line, row });
  }
  return { steps, problems: problems.sort((a, b) => a.line - b.line) };
}

/** Whether the row would change the employee (a PIN given is always a change: it is not compared). */
function changes(row: EmployeeImportRow, before: Employee): boolean {
  return (
    (row.name !== undefined && row.name !== before.name) ||
    (row.siteId !== undefined && row.siteId !== before.siteId) ||
    (row.badge !== undefined && row.badge !== before.badge) ||
    row.pin !== undefined ||
    (row.active !== undefined && (row.active === 'true') !== before.active)
  );
}
