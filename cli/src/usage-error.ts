/** A command used wrongly (exit code 2), as opposed to a command that failed (exit code 1). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node:util parseArgs reports unknown or malformed flags with these codes. */
export function isUsageError(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  return code.startsWith('ERR_PARSE_ARGS');
}
