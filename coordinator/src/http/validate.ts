import type { Context } from 'hono';
import type { z } from 'zod';
import { ProtocolError } from '../../../shared/src/errors.js';

/** Reads and validates a JSON body; a body that is not JSON or not valid is a 400 with every problem listed. */
export async function readJson<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (cause) {
    throw new ProtocolError('request body is not valid JSON', { cause });
  }
  return parseOrThrow(schema, body, 'request body', '(body)');
}

/** Validates `value`; on failure a 400 whose `errors` lists every issue as `path: message`. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string, root = '(value)'): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = result.error.issues.map((issue) => `${issue.path.join('.') || root}: ${issue.message}`);
    throw new ProtocolError(`invalid ${what}: ${errors.join('; ')}`, { details: { errors } });
  }
  return result.data;
}
