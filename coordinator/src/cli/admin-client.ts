/**
 * A thin client of the admin API. Failures are typed so that the CLI can say what happened and
 * exit with a code that means something (exit-codes.ts).
 */

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly fetch?: typeof globalThis.fetch;
}

/** The coordinator could not be reached at all. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
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

function problemOf(text: string): { detail: string | undefined; errors: string[] } {
  try {
    const problem = JSON.parse(text) as { detail?: unknown; errors?: unknown };
    return {
      detail: typeof problem.detail === 'string' ? problem.detail : undefined,
      errors: Array.isArray(problem.errors) ? problem.errors.map(String) : [],
    };
  } catch {
    return { detail: undefined, errors: [] };
  }
}

const HINT: Record<number, string> = {
  401: ' (check --token or UPSFLEET_TOKEN)',
  403: ' (this token lacks the scope: ask for a token with it)',
};

export function createAdminClient(options: AdminClientOptions) {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = options.url.replace(/\/+$/, '');
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${base}${path}`;
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: {
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (cause) {
      const reason =
        cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
      throw new UnreachableError(
        `cannot reach the coordinator at ${base} (${reason}): is it running? Set --url or UPSFLEET_URL`,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      const { detail, errors } = problemOf(text);
      const message = `${method} ${path}: ${response.status} ${detail ?? (text.slice(0, 200) || response.statusText)}${HINT[response.status] ?? ''}`;
      throw new ApiError(message, response.status, errors);
    }
    return JSON.parse(text) as T;
  }
  return {
    base,
    get: <T>(path: string) => request<T>('GET', path),
    post: <T>(path: string, body: unknown) => request<T>('POST', path, body),
    put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
    delete: <T>(path: string) => request<T>('DELETE', path),
  };
}
export type AdminClient = ReturnType<typeof createAdminClient>;
