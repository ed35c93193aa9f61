/**
 * What `upsfleet` exit codes mean, so that scripts can act on them:
 * 0 done; 1 done but it reports a failure (an invalid policy, a drill with a failing host, a
 * notification test that did not arrive); 2 the command was used wrongly; 3 the coordinator could
 * not be reached; 4 the token was refused (missing, wrong, expired, lacking the scope, throttled);
 * 5 the coordinator refused the request (invalid input, not found, conflict) or failed, or answered
 * with something its API does not document.
 */
import { ApiError, UnexpectedResponseError, UnreachableError } from './errors.js';
import { isUsageError } from './usage-error.js';

export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  Unreachable: 3,
  AuthRefused: 4,
  Refused: 5,
} as const;

export function exitCodeOf(error: unknown): number {
  if (isUsageError(error)) return ExitCode.Usage;
  if (error instanceof UnreachableError) return ExitCode.Unreachable;
  if (error instanceof UnexpectedResponseError) return ExitCode.Refused;
  if (error instanceof ApiError)
    return [401, 403, 429].includes(error.status) ? ExitCode.AuthRefused : ExitCode.Refused;
  return ExitCode.Failed;
}

/** The message to print: the error, then every listed validation error on its own line. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError && error.errors.length > 0)
    return `${message.split('\n')[0]}\n${error.errors.map((e) => `  - ${e}`).join('\n')}`;
  return message;
}
