import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeChunks, encodeBase64 } from './base64.js';

const SAMPLES = ['', 'a', '{"l":"runs","p":42}', 'UPS 机房 — on battery ⚡', '??>>~~', 'x'.repeat(100_000)];

describe('base64 without Buffer', () => {
  it.each(SAMPLES.map((text) => [text.slice(0, 20), text]))('encodes %j as Node does', (_, text) => {
    expect(encodeBase64(text)).toBe(Buffer.from(text, 'utf8').toString('base64'));
    expect(encodeBase64(text, { url: true })).toBe(Buffer.from(text, 'utf8').toString('base64url'));
    expect(decodeBase64(encodeBase64(text, { url: true }))).toBe(text);
    expect(decodeBase64(encodeBase64(text))).toBe(text);
  });

  it('refuses what is not base64 of UTF-8', () => {
    expect(() => decodeBase64('not base64!')).toThrow();
    expect(() => decodeBase64(Buffer.from([0xff, 0xfe]).toString('base64'))).toThrow();
  });

  it('decodes a character split across chunks', () => {
    const bytes = new TextEncoder().encode('on battery ⚡');
    expect(decodeChunks([bytes.subarray(0, 12), bytes.subarray(12)])).toBe('on battery ⚡');
  });
});
