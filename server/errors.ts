import { SINCE_PRUNED } from '../shared/events.js';
import type { ErrorBody } from '../shared/schemas.js';
import { isBadData, isUnavailable } from './db/errors.js';

/** An error a caller can act on: HTTP status plus a stable machine code. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Sent as Retry-After: when trying again makes sense. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** What callers see, in a REST response, a batch item or a socket ack alike. */
  body(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

export class ValidationError extends AppError {
  constructor(details: unknown, message = 'Request is invalid') {
    super(400, 'validation_failed', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

/** A dependency is down or too slow: not the caller's fault, and worth a retry. */
export class UnavailableError extends AppError {
  constructor(message = 'the service is briefly unavailable; retry shortly') {
    super(503, 'unavailable', message, undefined, 1);
  }
}

/**
 * Events after `since` are no longer all kept (EVENT_RETENTION_DAYS): they cannot be replayed. The
 * reader starts afresh from a snapshot instead.
 */
export class SincePrunedError extends AppError {
  constructor(
    readonly since: number,
    readonly prunedThrough: number,
  ) {
    super(410, SINCE_PRUNED, `events after seq ${since} are no longer kept (pruned through ${prunedThrough}): subscribe without since for a fresh snapshot`, {
      since,
      prunedThrough,
    });
  }
}

type HttpLikeError = Error & { status?: number; statusCode?: number; type?: string };

/**
 * Anything thrown below becomes an AppError: known client mistakes keep their code, a dependency
 * that is away is a 503, the rest is a 500. One mapping for REST responses, batch items and socket acks.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isUnavailable(err)) return new UnavailableError();
  if (isBadData(err)) return new ValidationError(undefined, 'a value could not be stored as given');
  const e = err as HttpLikeError;
  const status = e?.status ?? e?.statusCode;
  if (status === 413) return new AppError(413, 'payload_too_large', 'request body is too large');
  if (status === 415) return new AppError(415, 'unsupported_media_type', e.message);
  // co-body marks a body it cannot parse as a 400 SyntaxError.
  if (status === 400 && e instanceof SyntaxError) return new AppError(400, 'invalid_json', 'request body is not valid JSON');
  if (status === 400 && e.type === 'request.size.invalid') return new AppError(400, 'incomplete_body', 'the body is shorter or longer than its Content-Length');
  if (status === 400 && e.type === 'request.aborted') return new AppError(400, 'incomplete_body', 'the body ended before its Content-Length');
  if (status === 405 || status === 501) return new AppError(405, 'method_not_allowed', e.message);
  if (status && status >= 400 && status < 500) return new AppError(status, 'bad_request', e.message);
  return new AppError(500, 'internal', 'internal server error');
}
