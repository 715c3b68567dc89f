/**
 * Which database failures are the database's, not the request's: it is down, unreachable, out of
 * connections, too slow (a timeout) or shutting down, or the transaction lost a race it can retry.
 * The hub answers these with 503 and Retry-After; anything else is about what was being written.
 */
const UNAVAILABLE_STATES = new Set([
  '57014', // query_canceled: statement_timeout
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '53000', // insufficient_resources
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '25P03', // idle_in_transaction_session_timeout
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

// pg and knex say so only in words.
const UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'Connection terminated',
  'timeout expired',
  'not queryable',
  'Knex: Timeout acquiring a connection',
  'Unable to acquire a connection',
];

export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string' && (UNAVAILABLE_STATES.has(e.code) || e.code.startsWith('08') || NETWORK_CODES.has(e.code))) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((m) => (e.message as string).includes(m));
}

/** A value PostgreSQL could not take as given (SQLSTATE class 22: data exception): the input's fault. */
export function isBadData(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}
