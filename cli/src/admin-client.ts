/**
 * A thin client of the admin API. Every answer is parsed with the schema the coordinator documents
 * it with (shared/src/admin-api.ts). Failures are typed so that the CLI can say what happened and
 * exit with a code that means something (exit-codes.ts).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { z } from 'zod';
import { ApiError, UnexpectedResponseError, UnreachableError } from './errors.js';
import { type HttpAnswer, httpRequest, readText } from './http-request.js';

export interface AdminClientOptions {
  readonly url: string;
  readonly token: string | undefined;
}

/** The parts of an RFC 9457 problem document the CLI shows. */
const ProblemSchema = z.looseObject({
  detail: z.string().optional().catch(undefined),
  errors: z.array(z.string()).optional().catch(undefined),
});

function problemOf(text: string): { detail: string | undefined; errors: string[] } {
  try {
    const problem = ProblemSchema.safeParse(JSON.parse(text));
    if (problem.success) return { detail: problem.data.detail, errors: problem.data.errors ?? [] };
  } catch {
    // not JSON: the caller shows the text
  }
  return { detail: undefined, errors: [] };
}

const HINT: Record<number, string> = {
  401: ' (check --token or UPSFLEET_TOKEN)',
  403: ' (this token lacks the scope: ask for a token with it)',
};

export function createAdminClient(options: AdminClientOptions) {
  const base = options.url.replace(/\/+$/, '');

  /** Sends the request; an unreachable coordinator or an error answer becomes a typed error. */
  async function send(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<HttpAnswer> {
    let response: HttpAnswer;
    try {
      response = await httpRequest(`${base}${path}`, {
        method,
        headers: {
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (cause) {
      if (
        init.signal.aborted &&
        init.signal.reason instanceof Error &&
        init.signal.reason.name === 'AbortError'
      )
        throw cause;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new UnreachableError(
        `cannot reach the coordinator at ${base} (${reason}): is it running? Set --url or UPSFLEET_URL`,
      );
    }
    if (response.status >= 300 && response.status <= 399) {
      await readText(response.body).catch(() => '');
      const location = response.body.headers.location;
      throw new ApiError(
        `${method} ${path}: ${response.status}: ${base} redirects${typeof location === 'string' ? ` to ${location}` : ''}; ` +
          'the CLI does not follow redirects: set --url or UPSFLEET_URL to the address it points to',
        response.status,
        [],
      );
    }
    if (response.status < 200 || response.status > 299) {
      const text = await readText(response.body);
      const { detail, errors } = problemOf(text);
      const message = `${method} ${path}: ${response.status} ${detail ?? (text.slice(0, 200) || response.statusText)}${HINT[response.status] ?? ''}`;
      throw new ApiError(message, response.status, errors);
    }
    return response;
  }

  async function request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    const response = await send(method, path, { body, signal: AbortSignal.timeout(30_000) });
    let text: string;
    try {
      text = await readText(response.body);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new UnreachableError(
        `${method} ${path}: the connection to ${base} broke while reading its answer (${reason})`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(`${method} ${path}: the answer is not JSON: ${text.slice(0, 200)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new UnexpectedResponseError(
        `${method} ${path}: the answer is not what this CLI expects (is the coordinator another version?): ${issues.slice(0, 5).join('; ')}`,
      );
    }
    return parsed.data;
  }
  return {
    base,
    get: <S extends z.ZodType>(path: string, schema: S) => request('GET', path, schema),
    post: <S extends z.ZodType>(path: string, schema: S, body: unknown) =>
      request('POST', path, schema, body),
    put: <S extends z.ZodType>(path: string, schema: S, body: unknown) => request('PUT', path, schema, body),
    delete: <S extends z.ZodType>(path: string, schema: S) => request('DELETE', path, schema),
    /**
     * One connection to a server-sent events stream (`GET /api/v1/stream`): its messages until it
     * ends. follow-stream.ts reconnects.
     */
    async *stream(
      path: string,
      init: { lastEventId?: string | undefined; signal: AbortSignal },
    ): AsyncGenerator<EventSourceMessage> {
      const response = await send('GET', path, {
        headers: {
          accept: 'text/event-stream',
          ...(init.lastEventId === undefined ? {} : { 'last-event-id': init.lastEventId }),
        },
        signal: init.signal,
      });
      const messages: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (message) => messages.push(message) });
      response.body.setEncoding('utf8');
      try {
        for await (const chunk of response.body) {
          parser.feed(chunk);
          while (messages.length > 0) yield messages.shift() as EventSourceMessage;
        }
      } finally {
        response.body.destroy();
      }
    },
  };
}
export type AdminClient = ReturnType<typeof createAdminClient>;
