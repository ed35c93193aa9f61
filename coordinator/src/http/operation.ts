/**
 * One declaration per HTTP operation: its path, access, the zod schemas that validate its params,
 * query and body, and its responses. The same declaration registers the Hono route and feeds the
 * OpenAPI document (openapi-document.ts), so the document cannot drift from what is served.
 */
import type { Context, Env, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Scope } from '../db/queries/api-tokens.js';
import { parseOrThrow, readJson } from './validate.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call it: anyone, an agent (a signed agent token), or an admin token with this scope. */
export type Access = 'public' | 'agent' | Scope;

export interface ResponseSpec {
  readonly description: string;
  /** A JSON body; omit for no body. */
  readonly schema?: z.ZodType;
  /** A non-JSON body, e.g. `text/html`. */
  readonly contentType?: string;
}

type Schema = z.ZodType | undefined;
type Out<T extends Schema> = T extends z.ZodType ? z.output<T> : undefined;

export interface OperationSpec<
  P extends Schema = Schema,
  Q extends Schema = Schema,
  B extends Schema = Schema,
> {
  readonly method: Method;
  /** Relative to where the group is mounted, in Hono's syntax (`/hosts/:name`). */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

export interface OperationInput<P extends Schema, Q extends Schema, B extends Schema> {
  readonly params: Out<P>;
  readonly query: Out<Q>;
  readonly body: Out<B>;
}

export interface Operation<E extends Env = Env> {
  readonly spec: OperationSpec;
  readonly handle: (
    c: Context<E>,
    input: OperationInput<Schema, Schema, Schema>,
  ) => Response | Promise<Response>;
}

/** Declares an operation; the handler receives its params, query and body already validated. */
export function operation<
  E extends Env = Env,
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
>(
  spec: OperationSpec<P, Q, B>,
  handle: (c: Context<E>, input: OperationInput<P, Q, B>) => Response | Promise<Response>,
): Operation<E> {
  return { spec, handle: handle as Operation<E>['handle'] };
}

/** `operation` for one Hono environment, so that params, query and body types are inferred. */
export function operationsFor<E extends Env>() {
  return <P extends Schema = undefined, Q extends Schema = undefined, B extends Schema = undefined>(
    spec: OperationSpec<P, Q, B>,
    handle: (c: Context<E>, input: OperationInput<P, Q, B>) => Response | Promise<Response>,
  ): Operation<E> => operation<E, P, Q, B>(spec, handle);
}

/** A documented operation and where it is mounted. */
export interface CatalogEntry {
  readonly prefix: string;
  readonly spec: OperationSpec;
}

/** Every operation the app serves, in registration order: the source of the OpenAPI document. */
export type Catalog = CatalogEntry[];

function parsePart<T extends Schema>(schema: T, value: unknown, what: string): Out<T> {
  return (schema === undefined ? undefined : parseOrThrow(schema, value, what)) as Out<T>;
}

/** Query values as written: a key given once is a string, a key given several times an array. */
function queryOf(c: Context): Record<string, string | string[]> {
  const all = c.req.queries();
  return Object.fromEntries(
    Object.entries(all).map(([key, values]) => [key, values.length === 1 ? (values[0] as string) : values]),
  );
}

/**
 * Registers operations on `app` (mounted at `prefix`), each behind the middlewares `guard` gives it
 * (authentication, audit), and records them in `catalog`.
 */
export function mountOperations<E extends Env>(
  app: Hono<E>,
  prefix: string,
  operations: readonly Operation<E>[],
  catalog: Catalog,
  guard: (spec: OperationSpec) => MiddlewareHandler<E>[] = () => [],
): Hono<E> {
  for (const op of operations) {
    const { spec } = op;
    const run: MiddlewareHandler<E> = async (c) => {
      const params = parsePart(spec.params, c.req.param(), 'path parameters');
      const query = parsePart(spec.query, queryOf(c), 'query');
      const body = spec.body === undefined ? undefined : await readJson(c, spec.body);
      return op.handle(c, { params, query, body });
    };
    app.on([spec.method.toUpperCase()], [spec.path], ...guard(spec), run);
    catalog.push({ prefix, spec });
  }
  return app;
}

/** A query flag written `?x=true` / `?x=false`. */
export const QueryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');
