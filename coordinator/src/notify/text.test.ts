import { describe, expect, it } from 'vitest';
import { encodeHeaderText, humanDuration, truncateChars, truncateUtf8, utf8Length } from './text.js';

/** What a MIME word decoder (ntfy uses Go's mime.WordDecoder) makes of a header value. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g, (_, b64: string) => `\u0000${b64}\u0000`)
    .split('\u0000')
    .map((part, i) => (i % 2 === 1 ? Buffer.from(part, 'base64').toString('utf8') : part))
    .join('');
}

describe('humanDuration', () => {
  it.each([
    [0, '0 s'],
    [45_000, '45 s'],
    [60_000, '60 s'],
    [90_000, '90 s'],
    [150_000, '2 min 30 s'],
    [14 * 60_000 + 20_000, '14 min'],
    [3_600_000, '1 h'],
    [65 * 60_000, '1 h 5 min'],
    [26 * 3_600_000, '26 h'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('truncateUtf8', () => {
  it('leaves text within the limit alone', () => {
    expect(truncateUtf8('UPS nas-ups on battery', 2048)).toBe('UPS nas-ups on battery');
  });

  it('cuts between characters, never inside one, and ends in an ellipsis', () => {
    // 停电 = 3 bytes each; the ellipsis is 3 bytes: 10 bytes leave room for two characters.
    const cut = truncateUtf8('停电停电停电', 10);
    expect(cut).toBe('停电…');
    expect(utf8Length(cut)).toBeLessThanOrEqual(10);
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });

  it('never splits an emoji (4 bytes, a surrogate pair)', () => {
    const text = `a${'🔋'.repeat(600)}`;
    const cut = truncateUtf8(text, 2048);
    expect(utf8Length(cut)).toBeLessThanOrEqual(2048);
    expect(cut.endsWith('🔋…')).toBe(true);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('truncateChars', () => {
  it('counts UTF-16 code units and keeps surrogate pairs whole', () => {
    const cut = truncateChars('🔋'.repeat(1500), 2000);
    expect(cut.length).toBeLessThanOrEqual(2000);
    expect(cut).toBe(`${'🔋'.repeat(999)}…`);
  });
});

describe('encodeHeaderText', () => {
  it('keeps ASCII as it is', () => {
    expect(encodeHeaderText("Stage 'apps' fired")).toBe("Stage 'apps' fired");
  });

  it('encodes non-ASCII as RFC 2047 words of at most 75 characters that decode back', () => {
    const title = 'UPS nas-ups on battery — 机房停电, runtime 14 min 🔋';
    const value = encodeHeaderText(title);
    expect(value).toMatch(/^[\x20-\x7e]+$/);
    for (const word of value.split(' ')) expect(word.length).toBeLessThanOrEqual(75);
    expect(decodeWords(value)).toBe(title);
  });

  it('never lets a line break into a header', () => {
    expect(encodeHeaderText('a\r\nX-Evil: 1')).toBe('a X-Evil: 1');
  });
});
