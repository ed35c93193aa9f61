/**
 * Base64 of UTF-8 text with Web APIs only (TextEncoder, btoa/atob), so the same code runs on Node
 * and in workerd without `Buffer`.
 */

function toBinary(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return binary;
}

/** Base64 (`url`: base64url without padding) of the UTF-8 bytes of `text`. */
export function encodeBase64(text: string, options: { url?: boolean } = {}): string {
  const base64 = btoa(toBinary(new TextEncoder().encode(text)));
  return options.url === true ? base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '') : base64;
}

/** The UTF-8 text in base64 or base64url; throws on anything else. */
export function decodeBase64(encoded: string): string {
  const binary = atob(encoded.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder('utf-8', { fatal: true }).decode(
    Uint8Array.from(binary, (char) => char.charCodeAt(0)),
  );
}

/** The UTF-8 text of byte chunks read from a stream. */
export function decodeChunks(chunks: readonly Uint8Array[]): string {
  const decoder = new TextDecoder();
  return chunks.map((chunk, index) => decoder.decode(chunk, { stream: index < chunks.length - 1 })).join('');
}
