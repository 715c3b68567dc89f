import { parse as parseCsv, CsvError } from 'csv-parse/sync';
import pLimit from 'p-limit';
import { EMPLOYEE_IMPORT_COLUMNS, EmployeeImportRow, MAX_IMPORT_ROWS, type ImportResult } from '../../../shared/bulk.js';
import type { Scope, Who } from '../../auth/actor.js';
import { cacheKeys, type Cache } from '../../cache/index.js';
import { hashSecret } from '../../crypto.js';
import { inTransaction, type Knex } from '../../db/knex.js';
import { AppError } from '../../errors.js';
import { appendAudit } from '../../repositories/audit.js';
import { latestPunchSites } from '../../repositories/checkins.js';
import { findBadgeHolders, findEmployees, insertEmployee, updateEmployee } from '../../repositories/employees.js';
import { lockSiteForShare, siteStates } from '../../repositories/sites.js';
import { fieldIssues } from '../../validate.js';
import { planImport, type ReadRow, type Step } from './plan.js';

export type ImportService = ReturnType<typeof createImportService>;

// PINs are scrypt hashes on libuv's pool (four threads): two at a time leaves the rest to kiosks.
const PIN_HASHES_AT_ONCE = 2;

/** 422 `import_invalid`: every problem of every row, in `details`; nothing was written. */
class ImportInvalidError extends AppError {
  constructor(problems: unknown[]) {
    super(422, 'import_invalid', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the file; nothing was written`, { problems });
  }
}

/** The file's rows: a header row naming known columns (id required), then one employee a row. */
function readCsv(text: string): ReadRow[] {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(text, { columns: true, bom: true, skip_empty_lines: true, trim: true, info: true });
  } catch (err) {
    if (err instanceof CsvError) throw new AppError(400, 'invalid_csv', `not a CSV file the hub can read: ${err.message}`);
    throw err;
  }
  const header = records.length ? Object.keys(records[0]!.record) : (text.split(/\r?\n/, 1)[0] ?? '').split(',').map((c) => c.trim());
  const unknown = header.filter((c) => !(EMPLOYEE_IMPORT_COLUMNS as readonly string[]).includes(c));
  if (!header.includes('id') || unknown.length) {
    throw new AppError(400, 'invalid_csv', `the header must name an id column and only these: ${EMPLOYEE_IMPORT_COLUMNS.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
  }
  if (records.length > MAX_IMPORT_ROWS) throw new AppError(400, 'too_many_rows', `an import holds at most ${MAX_IMPORT_ROWS} rows; this one has ${records.length}`);
  return records.map(({ record, info }) => {
    const cells = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== ''));
    const parsed = EmployeeImportRow.safeParse(cells);
    const id = typeof cells.id === 'string' ? cells.id : null;
    if (parsed.success) return { line: info.lines, id, row: parsed.data, problems: [] };
    return { line: info.lines, id, problems: fieldIssues(parsed.error).map((i) => ({ line: info.lines, id, column: i.field || null, code: 'validation_failed', message: i.message })) };
  });
}

/**
 * Employees from CSV, all or nothing: every row is judged first (a dry run stops there), then written
 * in one transaction, which a concurrent change that breaks a rule (a badge taken meanwhile) rolls
 * back whole. Each created or changed employee is audited as a REST write would be.
 */
export function createImportService(deps: { db: Knex; cache: Cache }) {
  const { db, cache } = deps;
  return {
    async employees(csv: string, opts: { dryRun: boolean }, who: Who, scope: Scope): Promise<ImportResult> {
      const rows = readCsv(csv);
      const valid = rows.flatMap((r) => (r.row ? [r.row] : []));
      const [employees, badgeHolders, sites] = await Promise.all([
        findEmployees(db, [...new Set(valid.map((r) => r.id))]),
        findBadgeHolders(db, [...new Set(valid.flatMap((r) => (r.badge ? [r.badge] : [])))]),
        siteStates(db, [...new Set(valid.flatMap((r) => (r.siteId ? [r.siteId] : [])))]),
      ]);
      const { steps, problems } = planImport(rows, { employees, badgeHolders, sites }, scope);
      if (problems.length) throw new ImportInvalidError(problems);
      const count = (action: Step['action']) => steps.filter((s) => s.action === action).length;
      const result = { dryRun: opts.dryRun, rows: rows.length, created: count('create'), updated: count('update'), unchanged: count('unchanged') };
      if (opts.dryRun) return result;

      // PINs are hashed before the transaction opens: scrypt takes tens of milliseconds and needs no locks.
      const limit = pLimit(PIN_HASHES_AT_ONCE);
      const pinHashes = new Map(await Promise.all(steps.flatMap((s) => (s.row.pin ? [limit(async () => [s.row.id, await hashSecret(s.row.pin!)] as const)] : []))));
      await inTransaction(db, async (trx) => {
        for (const siteId of [...sites.keys()].sort()) {
          const site = await lockSiteForShare(trx, siteId);
          if (!site?.active) throw new AppError(409, 'site_inactive', `site ${siteId} closed during the import; nothing was written`);
        }
        for (const step of steps) {
          if (step.action === 'unchanged') continue;
          const { row } = step;
          const active = row.active === undefined ? undefined : row.active === 'true';
          const written =
            step.action === 'create'
              ? await insertEmployee(trx, { id: row.id, name: row.name!, siteId: row.siteId, badge: row.badge, pinHash: pinHashes.get(row.id), active })
              : await updateEmployee(trx, row.id, { name: row.name, siteId: row.siteId, badge: row.badge, pinHash: pinHashes.get(row.id), active });
          if (written === 'badge_taken' || written === 'id_taken' || written === undefined) {
            throw new AppError(409, 'import_conflict', `line ${step.line}: employee ${row.id} changed during the import (${written ?? 'removed'}); nothing was written`);
          }
        }
        const audited = steps.filter((s) => s.action !== 'unchanged');
        await appendAudit(
          trx,
          audited.map(({ action, row: { pin, badge, ...rest } }) => ({
            who,
            action: action === 'create' ? 'create' : 'update',
            entity: 'employee',
            entityId: rest.id,
            changes: { ...rest, ...(pin ? { pin: 'set' } : {}), ...(badge ? { badge: 'set' } : {}), source: 'import' },
          })),
        );
      });
      // Renamed, moved or deactivated people: the presence and latest records that name them are stale now.
      const touched = steps.filter((s) => s.action === 'update').map((s) => s.row.id);
      const presence = await latestPunchSites(db, touched);
      await cache.invalidate([...[...presence].map(cacheKeys.presence), ...touched.map(cacheKeys.latestRecord)]);
      return result;
    },
  };
}
