/**
 * Opaque pagination cursors. A cursor names the list it belongs to, so a cursor from one list
 * (or a hand-edited one) is refused with a 400 rather than silently returning the wrong page.
 */
import { z } from 'zod';
import { decodeBase64, encodeBase64 } from '../../../shared/src/base64.js';
import { ProtocolError } from '../../../shared/src/errors.js';

const CursorSchema = z.strictObject({ l: z.string(), p: z.number().int().nonnegative() });

export function encodeCursor(list: string, position: number): string {
  return encodeBase64(JSON.stringify({ l: list, p: position }), { url: true });
}

/** The position in `list` a cursor points at; a bad cursor is a 400 that says so. */
export function decodeCursor(list: string, cursor: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeBase64(cursor));
  } catch {
    parsed = undefined;
  }
  const result = CursorSchema.safeParse(parsed);
  if (!result.success || result.data.l !== list)
    throw new ProtocolError(
      `invalid cursor for ${list}: pass the "next" value of a previous page of ${list} unchanged`,
    );
  return result.data.p;
}

/** The query parameters every paginated list takes. */
export const PageQuery = {
  cursor: z.string().max(200).optional().describe('The `next` value of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Items per page (1–1000)'),
};

/** Builds a page from rows fetched with `limit + 1` (the extra row only says there is more). */
export function pageOf<T>(
  list: string,
  rows: readonly T[],
  limit: number,
  position: (row: T) => number,
): { items: T[]; next: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    next: rows.length > limit && last !== undefined ? encodeCursor(list, position(last)) : null,
  };
}
