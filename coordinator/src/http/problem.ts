import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { SignatureError } from '../../../shared/src/signing.js';

/** The single place where typed errors become HTTP statuses. */
const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  protocol: 400,
  unauthorized: 401,
  signature: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  too_many_requests: 429,
  unprocessable: 422,
  config: 500,
  nut: 502,
  internal: 500,
};

const TITLE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

export interface Problem {
  readonly status: ContentfulStatusCode;
  readonly detail: string;
  readonly code: string;
  readonly extra?: Record<string, unknown>;
}

export function problemOf(error: unknown): Problem {
  if (error instanceof SignatureError) {
    return { status: 401, detail: error.message, code: `signature.${error.reason}` };
  }
  if (error instanceof AppError) {
    return {
      status: STATUS[error.code],
      detail: error.message,
      code: error.code,
      ...(error.details ? { extra: { ...error.details } } : {}),
    };
  }
  if (error instanceof z.ZodError) {
    return { status: 400, detail: z.prettifyError(error), code: 'bad_request' };
  }
  return { status: 500, detail: 'internal error', code: 'internal' };
}

/** The RFC 9457 body and headers of a problem (also written by hand on a refused WebSocket upgrade). */
export function problemParts(problem: Problem): {
  title: string;
  body: string;
  headers: Record<string, string>;
} {
  const title = TITLE[problem.status] ?? 'Error';
  const body = {
    type: `https://upsfleet.dev/problems/${problem.code}`,
    title,
    status: problem.status,
    detail: problem.detail,
    ...problem.extra,
  };
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (problem.status === 401) headers['www-authenticate'] = 'Bearer realm="upsfleet"';
  const retryAfter = problem.extra?.retryAfter;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter)));
  return { title, body: JSON.stringify(body), headers };
}

/** RFC 9457 `application/problem+json`. */
export function problemResponse(c: Context, problem: Problem): Response {
  const { body, headers } = problemParts(problem);
  return c.body(body, problem.status, headers);
}

export function createErrorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    const problem = problemOf(error);
    const fields = { method: c.req.method, path: c.req.path, status: problem.status, reason: problem.detail };
    if (problem.status >= 500)
      logger.error('request failed', { ...fields, error: error.stack ?? String(error) });
    else logger.warn('request refused', fields);
    return problemResponse(c, problem);
  };
}
