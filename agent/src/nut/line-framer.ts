import { NutProtocolError } from './errors.js';

/** upsd's own replies are far shorter; anything longer is a broken or hostile peer. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;

const LF = 0x0a;
const CR = 0x0d;

export interface LineFramer {
  /**
   * Feeds bytes as they arrive and returns the lines they complete, without terminators. Lines end
   * in LF; a CR before it is dropped too. Throws `NutProtocolError('line-too-long')` as soon as a line
   * exceeds the limit, terminated or not; the framer is unusable after that.
   */
  push(chunk: Uint8Array): string[];
  /** Bytes of an unterminated line held back. */
  readonly buffered: number;
}

/** A pure streaming splitter (no I/O): bytes in, UTF-8 lines out, bounded memory. */
export function createLineFramer(options: { readonly maxLineBytes?: number } = {}): LineFramer {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let size = 0;
  let failed: NutProtocolError | undefined;

  const tooLong = (bytes: number): NutProtocolError => {
    failed = new NutProtocolError(
      'line-too-long',
      `upsd sent a line of ${bytes}+ bytes, over the ${maxLineBytes}-byte limit`,
    );
    parts = [];
    size = 0;
    return failed;
  };

  return {
    get buffered() {
      return size;
    },
    push(chunk) {
      if (failed) throw failed;
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const lines: string[] = [];
      let start = 0;
      for (let end = bytes.indexOf(LF, start); end !== -1; end = bytes.indexOf(LF, start)) {
        const piece = bytes.subarray(start, end);
        const length = size + piece.length;
        const hasCr =
          length > 0 && (piece.length > 0 ? piece[piece.length - 1] : parts.at(-1)?.at(-1)) === CR;
        if (length - (hasCr ? 1 : 0) > maxLineBytes) throw tooLong(length);
        const line = Buffer.concat([...parts, piece], length);
        lines.push(line.toString('utf8', 0, hasCr ? length - 1 : length));
        parts = [];
        size = 0;
        start = end + 1;
      }
      if (start < bytes.length) {
        const rest = bytes.subarray(start);
        // Copy: the caller may reuse its buffer.
        parts.push(Buffer.from(rest));
        size += rest.length;
        // One byte of slack for a CR that may precede the coming LF.
        if (size > maxLineBytes + 1) throw tooLong(size);
      }
      return lines;
    },
  };
}
