/**
 * The typed error vocabulary shared by coordinator and agent.
 * Core code throws these; only the HTTP edge (coordinator/src/http/errors.ts) maps them to statuses.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'payload_too_large'
  | 'too_many_requests'
  | 'unprocessable'
  | 'config'
  | 'protocol'
  | 'signature'
  | 'nut'
  | 'internal';

export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: ErrorCode;
  /** Extra, safe-to-show details (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** A request or frame that does not parse or validate. */
export class ProtocolError extends AppError {
  override readonly name = 'ProtocolError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('protocol', message, options);
  }
}

export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  constructor(message: string) {
    super('not_found', message);
  }
}

export class ConflictError extends AppError {
  override readonly name = 'ConflictError';
  constructor(message: string) {
    super('conflict', message);
  }
}

export class UnauthorizedError extends AppError {
  override readonly name = 'UnauthorizedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('unauthorized', message, options);
  }
}

export class ForbiddenError extends AppError {
  override readonly name = 'ForbiddenError';
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** Too many failed attempts: try again after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  override readonly name = 'TooManyRequestsError';
  constructor(message: string, retryAfterSeconds: number) {
    super('too_many_requests', message, { details: { retryAfter: retryAfterSeconds } });
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
