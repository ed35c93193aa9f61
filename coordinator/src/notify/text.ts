/** Small pure text helpers for messages read on a phone: durations, limits, header encoding. */

import { encodeBase64 } from '../../../shared/src/base64.js';

/** A duration as a person says it: `45 s`, `90 s`, `14 min`, `2 min 30 s`, `1 h 5 min`. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  // Under two minutes, seconds read better than "1 min" (a stage "in 60 s", "on battery for 90 s").
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    const rest = seconds % 60;
    return minutes < 10 && rest > 0 ? `${minutes} min ${rest} s` : `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest > 0 ? `${hours} h ${rest} min` : `${hours} h`;
}

const ELLIPSIS = '…';
const encoder = new TextEncoder();

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/**
 * At most `maxBytes` of UTF-8, cut between characters (never inside one, never between the halves
 * of a surrogate pair), ending in "…" when something was cut.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  const budget = maxBytes - utf8Length(ELLIPSIS);
  let used = 0;
  let out = '';
  for (const char of text) {
    const size = utf8Length(char);
    if (used + size > budget) break;
    used += size;
    out += char;
  }
  return out + ELLIPSIS;
}

/** At most `max` UTF-16 code units (what JavaScript and most APIs count), never splitting a pair. */
export function truncateChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max - ELLIPSIS.length) break;
    out += char;
  }
  return out + ELLIPSIS;
}

/**
 * An HTTP header value that survives non-ASCII text: pure ASCII as is, otherwise RFC 2047
 * encoded-words (`=?UTF-8?B?…?=`), each at most 75 characters, separated by spaces (which a decoder
 * drops between adjacent encoded-words). fetch refuses header values outside Latin-1, and ntfy decodes
 * encoded-words in its Title header (server/util.go maybeDecodeHeader, with Go's mime.WordDecoder).
 */
export function encodeHeaderText(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  // 45 bytes → 60 base64 characters + 12 for `=?UTF-8?B?` and `?=` = 72 ≤ 75.
  const words: string[] = [];
  let chunk = '';
  for (const char of clean) {
    if (utf8Length(chunk + char) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${encodeBase64(word)}?=`).join(' ');
}
