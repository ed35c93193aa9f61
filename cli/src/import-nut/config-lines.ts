/**
 * NUT's configuration syntax (upsmon.conf, upssched.conf): one directive per line, words separated by
 * blanks, "double quotes" around words with blanks, backslash escapes, # comments. Pure.
 */

/** Where a line came from, for the list of what could not be mapped. */
export interface Origin {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

export interface ConfigLine extends Origin {
  readonly words: readonly string[];
}

/** The words of one line; null when a quote is left open. */
export function splitWords(text: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && c === '#') {
      break;
    } else if (!quoted && /\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quoted) return null;
  if (inWord) words.push(word);
  return words;
}

/** Every directive line of a file (blank and comment-only lines left out), numbered from 1. */
export function configLines(file: string, text: string): { lines: ConfigLine[]; bad: Origin[] } {
  const lines: ConfigLine[] = [];
  const bad: Origin[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const words = splitWords(raw);
    const origin = { file, line: index + 1, text: raw.trim() };
    if (words === null) bad.push(origin);
    else if (words.length > 0) lines.push({ ...origin, words });
  });
  return { lines, bad };
}

export const where = (origin: Origin): string => `${origin.file}:${origin.line}`;
