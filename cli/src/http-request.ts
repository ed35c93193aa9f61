/**
 * One HTTP request with node:http (node:https for an https URL), for the admin client. Not fetch:
 * Node 20's fetch is undici, whose first use compiles its HTTP parser (WebAssembly) and whose
 * optimising recompilation of it runs in the background, and Node waits for that before it exits:
 * ~25 ms to load it and 75–200 ms at exit on this 2-core machine, more than the rest of
 * `upsfleet status` (README, "The upsfleet program"). node:http parses with the built-in llhttp.
 */
import type { IncomingMessage, RequestOptions } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  /** The body as it arrives; destroyed when the request's signal aborts. */
  readonly body: IncomingMessage;
}

export interface HttpRequestInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | undefined;
  readonly signal: AbortSignal;
}

/** Sends the request; resolves with the answer's head once it arrives, rejects if there is none. */
export async function httpRequest(url: string, init: HttpRequestInit): Promise<HttpAnswer> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new TypeError(`unsupported protocol ${target.protocol} (use http: or https:)`);
  // node:https loads TLS: only when asked for.
  const { request } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  const options: RequestOptions = { method: init.method, headers, signal: init.signal };
  return new Promise((resolve, reject) => {
    const req = request(target, options, (res) => {
      resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: res });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The whole body as text. */
export async function readText(body: IncomingMessage): Promise<string> {
  body.setEncoding('utf8');
  let text = '';
  for await (const chunk of body) text += chunk;
  return text;
}
