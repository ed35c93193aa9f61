import { createHash, randomBytes } from 'node:crypto';

/** A random bearer secret with a readable prefix (`ufa_` admin/API token, `ufe_` enrollment token). */
export function generateSecret(prefix: 'ufa' | 'ufe'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are 256-bit random, so a fast hash is enough; only hashes are stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
