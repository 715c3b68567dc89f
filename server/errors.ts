import type { ErrorBody } from '../shared/schemas.js';

/** An error a caller can act on: HTTP status plus a stable machine code. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
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
