/** What can go wrong talking to the coordinator, typed so that exit-codes.ts can map it. */

/** The coordinator could not be reached at all. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** The coordinator answered with something that is not what its API documents (another version?). */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
}

/** The coordinator answered with an error (a problem document). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    /** Every validation error, when the problem lists them (e.g. an invalid policy). */
    readonly errors: readonly string[],
  ) {
    super(message);
  }
}
