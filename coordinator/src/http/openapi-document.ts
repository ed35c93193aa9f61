/**
 * The OpenAPI 3.1 document, generated from the operations' own zod schemas (JSON Schema 2020-12,
 * which OpenAPI 3.1 uses as is). Request schemas are described as they are accepted (`io: input`),
 * responses as they are produced.
 */
import { z } from 'zod';
import type { Catalog, OperationSpec } from './operation.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/hosts/:name/revoke` → `/hosts/{name}/revoke` */
export function openApiPath(prefix: string, path: string): string {
  const joined = `${prefix}${path === '/' && prefix !== '' ? '' : path}` || '/';
  return joined.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(spec: OperationSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (schema === undefined) continue;
    const object = jsonSchema(schema, 'input');
    const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((object.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...propertySchema } = property;
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: propertySchema,
      });
    }
  }
  return out;
}

const SECURITY_NOTE: Record<OperationSpec['access'], string> = {
  public: 'No authentication.',
  agent: 'An agent: authenticated by its own Ed25519 signature.',
  read: 'Admin API token with the `read` scope (or `write`, or `admin`).',
  write: 'Admin API token with the `write` scope (or `admin`).',
  admin: 'Admin API token with the `admin` scope.',
};

const PROBLEM = {
  description: 'An error, as an RFC 9457 problem document',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string', description: 'What went wrong and what to fix' },
          errors: { type: 'array', items: { type: 'string' }, description: 'Every validation error' },
        },
      },
    },
  },
};

function operationObject(spec: OperationSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema !== undefined
        ? { content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } }
        : response.contentType !== undefined
          ? { content: { [response.contentType]: { schema: { type: 'string' } } } }
          : {}),
    };
  }
  const admin = spec.access === 'read' || spec.access === 'write' || spec.access === 'admin';
  if (spec.params !== undefined || spec.query !== undefined || spec.body !== undefined)
    responses['400'] ??= { $ref: '#/components/responses/Problem' };
  if (admin) {
    responses['401'] ??= { $ref: '#/components/responses/Problem' };
    responses['403'] ??= { $ref: '#/components/responses/Problem' };
    responses['429'] ??= { $ref: '#/components/responses/Problem' };
  }
  responses.default = { $ref: '#/components/responses/Problem' };
  const params = parameters(spec);
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    description: [spec.description, `**Access:** ${SECURITY_NOTE[spec.access]}`].filter(Boolean).join('\n\n'),
    tags: [spec.tag],
    ...(admin ? { security: [{ bearer: [] }], 'x-scope': spec.access } : { security: [] }),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(spec.body !== undefined
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

export interface OpenApiInfo {
  readonly version: string;
  /** Paths served outside Hono (the agent WebSocket), documented by hand. */
  readonly extraPaths?: Record<string, Record<string, unknown>>;
}

export function buildOpenApiDocument(catalog: Catalog, info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { prefix, spec } of catalog) {
    const path = openApiPath(prefix, spec.path);
    paths[path] = { ...paths[path], [spec.method]: operationObject(spec) };
  }
  for (const [path, item] of Object.entries(info.extraPaths ?? {})) paths[path] = { ...paths[path], ...item };
  const tags = [...new Set(catalog.map((entry) => entry.spec.tag))].map((name) => ({ name }));
  return {
    openapi: '3.1.1',
    info: {
      title: 'upsfleet coordinator',
      version: info.version,
      description:
        'Staged fleet shutdown when a shared UPS runs on battery. The admin API lives under `/api/v1` ' +
        '(bearer tokens with scopes read, write, admin); agents use `/agent/v1`. Errors are ' +
        '`application/problem+json` (RFC 9457). Lists are paginated with opaque cursors: pass the ' +
        "answer's `next` as `cursor`.",
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags,
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An upsfleet API token' } },
      responses: { Problem: PROBLEM },
    },
  };
}
