/**
 * NUT's word splitter (common/parseconf.c), one character at a time and without I/O. upsd splits
 * every client line with it, upsclient every reply, dummy-ups every `.dev` line; here the client
 * codec (`tokenize`) and the server (`nut-server/command-reader.ts`) share it.
 *
 * Rules: whitespace separates words; `"…"` groups one word (`""` is an empty one) and spans line
 * ends; `\` takes the next character literally, inside quotes and out (a `\` before a line end joins
 * the lines); an unquoted `#` starts a comment; a `=` at the start of a word, or inside one, is a
 * word of its own; a `#` inside quotes is a parse error.
 */

export interface ParseconfOptions {
  /** upsd: a raw `#` inside quotes is a parse error. A lenient reader keeps it as a character. */
  readonly hashInQuotes: 'error' | 'keep';
  /** upsd (CVE-2012-2944): characters outside 0x20–0x7f are dropped from words. */
  readonly printableOnly: boolean;
  /** upsd: PCONF_DEFAULT_ARG_LIMIT (32); words past it are dropped. */
  readonly maxWords?: number;
  /** upsd: PCONF_DEFAULT_WORDLEN_LIMIT (512); characters past it are dropped. */
  readonly maxWordLength?: number;
}

/** upsd's own limits (common/parseconf.h): at most 16 KB per line, however long the line is. */
export const UPSD_PARSECONF: ParseconfOptions = {
  hashInQuotes: 'error',
  printableOnly: true,
  maxWords: 32,
  maxWordLength: 512,
};

/** What one character did: nothing yet, completed a line (`words` holds it), or broke the line. */
export type ParseconfStep = 'more' | 'line' | 'error';

/** Where the parser stands between characters (for callers that must refuse an unfinished line). */
export type ParseconfState = 'between' | 'word' | 'word-escaped' | 'quoted' | 'quoted-escaped' | 'comment';

export interface Parseconf {
  push(ch: string): ParseconfStep;
  /** The words of the line just completed, or collected so far. */
  readonly words: readonly string[];
  readonly state: ParseconfState;
  /** Ends the input mid-line as pconf_line does: a word being collected is tied off. */
  finish(): readonly string[];
}

const SPACE = new Set([' ', '\t', '\r', '\v', '\f']);

export function createParseconf(options: ParseconfOptions): Parseconf {
  const maxWords = options.maxWords ?? Number.POSITIVE_INFINITY;
  const maxWordLength = options.maxWordLength ?? Number.POSITIVE_INFINITY;
  let words: string[] = [];
  let word = '';
  let state: ParseconfState = 'between';
  let done = false;

  const addChar = (ch: string): void => {
    if (options.printableOnly) {
      const code = ch.charCodeAt(0);
      if (code < 0x20 || code > 0x7f || ch.length > 1) return;
    }
    if (word.length < maxWordLength) word += ch;
  };
  const endWord = (): void => {
    if (words.length < maxWords) words.push(word);
    word = '';
  };

  /** parseconf's findwordstart. */
  const wordStart = (ch: string): ParseconfStep => {
    if (ch === '\n') return 'line';
    if (ch === '#') state = 'comment';
    else if (SPACE.has(ch)) state = 'between';
    else if (ch === '\\') state = 'word-escaped';
    else if (ch === '"') state = 'quoted';
    else {
      addChar(ch);
      if (ch === '=') {
        endWord();
        state = 'between';
      } else state = 'word';
    }
    return 'more';
  };

  const step = (ch: string): ParseconfStep => {
    switch (state) {
      case 'between':
        return wordStart(ch);
      case 'comment':
        return ch === '\n' ? 'line' : 'more';
      case 'quoted':
        if (ch === '#' && options.hashInQuotes === 'error') {
          endWord();
          return 'error';
        }
        if (ch === '"') {
          endWord();
          state = 'between';
        } else if (ch === '\\') state = 'quoted-escaped';
        else addChar(ch);
        return 'more';
      case 'quoted-escaped':
        if (ch !== '\n') addChar(ch);
        state = 'quoted';
        return 'more';
      case 'word':
        if (ch === '#') {
          endWord();
          state = 'comment';
          return 'more';
        }
        if (ch === '\n') {
          endWord();
          return 'line';
        }
        if (SPACE.has(ch)) {
          endWord();
          state = 'between';
        } else if (ch === '=') {
          endWord();
          wordStart(ch);
          state = 'between';
        } else if (ch === '\\') state = 'word-escaped';
        else addChar(ch);
        return 'more';
      case 'word-escaped':
        if (ch !== '\n') addChar(ch);
        state = 'word';
        return 'more';
    }
  };

  return {
    push(ch) {
      if (done) {
        // The previous character finished or broke a line: start the next one.
        words = [];
        state = 'between';
        done = false;
      }
      const result = step(ch);
      if (result !== 'more') done = true;
      return result;
    },
    get words() {
      return words;
    },
    get state() {
      return state;
    },
    finish() {
      if (state === 'word' || state === 'word-escaped') endWord();
      done = true;
      return words;
    },
  };
}
