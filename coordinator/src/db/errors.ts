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
