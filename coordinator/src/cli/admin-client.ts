import { AppError } from '../../../shared/src/errors.js';

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly fetch?: typeof globalThis.fetch;
}

/** A thin client of the admin API; errors carry the method, URL, status and the problem's detail. */
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
      });
    } catch (cause) {
      throw new AppError('internal', `[${method}] ${url}: coordinator unreachable (${String(cause)})`, {
        cause,
      });
    }
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try {
        const problem = JSON.parse(text) as { detail?: unknown };
        if (typeof problem.detail === 'string') detail = problem.detail;
      } catch {
        // not JSON: keep the text
      }
      const code =
        response.status === 401 ? 'unauthorized' : response.status === 403 ? 'forbidden' : 'bad_request';
      throw new AppError(code, `[${method}] ${url}: ${response.status} ${detail}`);
    }
    return JSON.parse(text) as T;
  }
  return {
    get: <T>(path: string) => request<T>('GET', path),
    post: <T>(path: string, body: unknown) => request<T>('POST', path, body),
    put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  };
}
