/**
 * Passwords of the NUT accounts a bridge serves (`upsfleet hosts nut-credentials`): generated here,
 * shown once, stored only as a PBKDF2-SHA-256 hash (WebCrypto, so the edge runtime can make them too)
 * in `pbkdf2-sha256$<iterations>$<salt>$<hash>` form, base64url. The bridge verifies LOGIN against it.
 */

const ITERATIONS = 100_000;
const encoder = new TextEncoder();

const toBase64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const fromBase64Url = (text: string): Uint8Array =>
  Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await globalThis.crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await globalThis.crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * A new password: 20 characters from an alphabet NUT clients take without quoting (letters and
 * digits; DSM, WinNUT and upsmon.conf lines all accept it as is), about 119 bits.
 */
export function generateNutPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
  // Bytes of 224 and up are skipped (224 = 4 × 56), so that every character is equally likely.
  const limit = 256 - (256 % alphabet.length);
  let password = '';
  while (password.length < 20) {
    for (const byte of globalThis.crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < limit && password.length < 20) password += alphabet[byte % alphabet.length];
    }
  }
  return password;
}

export async function hashNutPassword(password: string): Promise<string> {
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, ITERATIONS);
  return `pbkdf2-sha256$${ITERATIONS}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

/** Constant-time comparison of the derived hash; false for any malformed stored hash. */
export async function verifyNutPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, rounds, salt, hash] = stored.split('$');
  const iterations = Number(rounds);
  if (scheme !== 'pbkdf2-sha256' || !Number.isSafeInteger(iterations) || iterations < 1 || !salt || !hash)
    return false;
  const expected = fromBase64Url(hash);
  const actual = await derive(password, fromBase64Url(salt), iterations);
  if (actual.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= (actual[i] as number) ^ (expected[i] as number);
  return diff === 0;
}
