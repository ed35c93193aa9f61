/**
 * The one admin-API client of the tests: bearer token, JSON bodies, and either the parsed answer of
 * a call that must succeed or the response as is for tests about statuses. Works against a real
 * port (`fetch`) or an in-memory Hono app (`fetch: app.request`).
 */

export type FetchLike = (url: string, init: RequestInit) => Response | Promise<Response>;

export interface AdminApiOptions {
  /** The coordinator's URL, or a getter when it is known only once the suite has started it. */
  readonly base: string | (() => string);
  readonly token: string;
  readonly fetch?: FetchLike;
}

export interface AdminApi {
  /** The JSON answer of a call that must succeed; throws `METHOD path: status body` otherwise. */
  readonly call: <T>(method: string, path: string, body?: unknown) => Promise<T>;
  /** The response as is; `token` replaces the admin token (null: no authorization header). */
  readonly send: (method: string, path: string, body?: unknown, token?: string | null) => Promise<Response>;
}

export function createAdminApi(options: AdminApiOptions): AdminApi {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const base = typeof options.base === 'string' ? () => options.base as string : options.base;

  async function send(method: string, path: string, body?: unknown, token: string | null = options.token) {
    return doFetch(`${base()}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await send(method, path, body);
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  return { call, send };
}
