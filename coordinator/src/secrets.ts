import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random bearer secret with a readable prefix (`ufa_` admin/API token, `ufe_` enrollment token). */
export function generateSecret(prefix: 'ufa' | 'ufe'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are 256-bit random, so a fast hash is enough; only hashes are stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sameSecretHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
