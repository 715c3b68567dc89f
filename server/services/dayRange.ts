import { MAX_TIMESHEET_DAYS } from '../../shared/reports.js';
import { AppError } from '../errors.js';
import { dayCount } from './attendanceDays.js';

/** A report or export covers at most a leap year of calendar days (from and to included); more is 400 range_too_large. */
export function requireDayRange(from: string, to: string, what: string): void {
  if (dayCount(from, to) > MAX_TIMESHEET_DAYS) throw new AppError(400, 'range_too_large', `${what} covers at most ${MAX_TIMESHEET_DAYS} days`);
}
