/** Driver errors arrive wrapped (DrizzleQueryError); the SQLSTATE is on `cause.code` for both drivers. */
export function sqlState(error: unknown): string | undefined {
  for (let current: unknown = error; typeof current === 'object' && current !== null; ) {
    if ('code' in current && typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code))
      return current.code;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

/**
 * A stored value this version cannot read (written by another version, or edited by hand). The
 * coordinator stops with this message rather than act on data it does not understand.
 */
export class StoredDataError extends Error {
  override readonly name = 'StoredDataError';
}

/** Parses a stored jsonb value with its schema; `what` names it for the message. */
export function parseStored<T>(schema: StoredSchema<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
  throw new StoredDataError(
    `${what} in the database cannot be read by this version of upsfleet (${issues}). ` +
      'It was probably written by a different version: run the version that wrote it, or upgrade.',
    { cause: result.error },
  );
}

/** What parseStored checks a value with (a zod schema). */
export interface StoredSchema<T> {
  safeParse(value: unknown): SafeResult<T>;
}

type SafeResult<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
