/**
 * Reads the `.dev` format of NUT's Devices Dumps Library and of dummy-ups (`upsc` output):
 * `name: value` lines, `#` comments, and `# DEVICE:COMMENT` … `# DEVICE:EOC` header blocks.
 *
 * Words follow parseconf, as dummy-ups reads them (the same `tokenize` as the upsd codec): whitespace
 * separates words and the value is the words after the name joined by one space, so colons and spaces
 * inside a value are kept but runs of spaces collapse; an unquoted `#` starts a comment anywhere
 * (`OL OFF #BAD: …` → `OL OFF`, and `ups.serial: ####` → empty); `"…"` groups and `\` escapes; a `=`
 * is a word of its own (`ID=18` → `ID = 18`, which dummy-ups serves too).
 *
 * Where this differs from dummy-ups 2.8.0, it keeps what the file says: an empty value stays `''`
 * (dummy-ups serves the previous line's value), `name:value` without a space keeps its value (dummy-ups
 * drops it), and a line with an unbalanced quote is skipped (parseconf would swallow the following
 * lines up to the next quote). The dummy-ups instructions `TIMER <sec>` and `ALARM [msg]` are skipped.
 * Never throws: anything odd becomes a warning naming the line, and the rest of the file is read.
 */
import { tokenize } from '../../agent/src/nut/protocol.js';

export interface DevFile {
  /** Variables in file order; a repeated name keeps its last value (as dummy-ups does). */
  readonly vars: Record<string, string>;
  readonly warnings: string[];
}

const NAME = /^[A-Za-z0-9._-]+$/;
const BLOCK_START = /^\s*#\s*DEVICE:COMMENT/;
const BLOCK_END = /^\s*#\s*DEVICE:EOC/;
const INSTRUCTIONS: ReadonlySet<string> = new Set(['TIMER', 'ALARM']);

function wordsOf(line: string): string[] | Error {
  try {
    return tokenize(line);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export function parseDevFile(text: string): DevFile {
  const vars = new Map<string, string>();
  const warnings: string[] = [];
  let blockOpenedAt: number | undefined;

  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const at = `line ${index + 1}`;
    if (BLOCK_START.test(line)) {
      blockOpenedAt = index + 1;
      continue;
    }
    if (BLOCK_END.test(line)) {
      if (blockOpenedAt === undefined) warnings.push(`${at}: DEVICE:EOC without a DEVICE:COMMENT block`);
      blockOpenedAt = undefined;
      continue;
    }
    const words = wordsOf(line);
    if (words instanceof Error) {
      warnings.push(`${at}: ${words.message}; line skipped`);
      continue;
    }
    const [first, ...rest] = words;
    if (first === undefined) continue; // blank or comment
    if (blockOpenedAt !== undefined) {
      warnings.push(`${at}: data inside the DEVICE:COMMENT block of line ${blockOpenedAt}; read as data`);
    }
    if (INSTRUCTIONS.has(first)) {
      if (first === 'TIMER' && !/^\d+$/.test(rest[0] ?? '')) warnings.push(`${at}: TIMER without seconds`);
      continue;
    }
    const colon = first.indexOf(':');
    const name = colon < 0 ? first : first.slice(0, colon);
    if (colon <= 0 || !NAME.test(name)) {
      warnings.push(`${at}: not a "name: value" line: ${JSON.stringify(line.trim())}; line skipped`);
      continue;
    }
    const glued = first.slice(colon + 1);
    if (glued !== '') {
      warnings.push(`${at}: no space after "${name}:"; value kept (dummy-ups would drop it)`);
      rest.unshift(glued);
    }
    if (vars.has(name)) warnings.push(`${at}: ${name} repeated; the last value wins`);
    vars.set(name, rest.join(' '));
  }
  if (blockOpenedAt !== undefined) {
    warnings.push(`line ${blockOpenedAt}: DEVICE:COMMENT block never closed by DEVICE:EOC`);
  }
  return { vars: Object.fromEntries(vars), warnings };
}
