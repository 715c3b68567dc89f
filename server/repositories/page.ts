import type { Page } from '../../shared/schemas.js';

/**
 * Lists read limit + 1 rows ordered by id: the extra row only says whether another page exists,
 * so the last page answers next = null instead of sending the caller to an empty one.
 */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  return { data, next: rows.length > limit ? data[data.length - 1]!.id : null };
}
