import { z } from 'zod';
import type { Logger } from '../../shared/src/logger.js';
import { generateSigningKey, loadSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import type { Db } from './db/client.js';
import { hasApiToken, putApiToken } from './db/queries/api-tokens.js';
import { getOrInitSetting } from './db/queries/settings.js';
import { generateSecret, hashSecret } from './secrets.js';

export const SIGNING_KEY_SETTING = 'coordinator_signing_key';
export const ADMIN_TOKEN_NAME = 'admin';

/** The stored signing key's shape (loadSigningKey then checks that its parts form a key pair). */
export const StoredSigningKeySchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string(),
  d: z.string(),
});

/** The coordinator's Ed25519 key: made on first start, then always the same one (agents pin it). */
export async function loadOrCreateSigningKey(db: Db): Promise<SigningKeyPair> {
  const { stored } = await generateSigningKey();
  return loadSigningKey(await getOrInitSetting(db, SIGNING_KEY_SETTING, stored, StoredSigningKeySchema));
}

/**
 * The bootstrap admin token. From UPSFLEET_ADMIN_TOKEN when set (its hash replaces the stored one);
 * otherwise generated on the first start and shown once through `announce`. Only hashes are stored.
 */
export async function ensureAdminToken(
  db: Db,
  fromEnv: string | undefined,
  announce: (token: string) => void,
  logger: Logger,
): Promise<void> {
  if (fromEnv !== undefined) {
    await putApiToken(db, ADMIN_TOKEN_NAME, hashSecret(fromEnv), ['admin']);
    logger.info('admin token taken from UPSFLEET_ADMIN_TOKEN');
    return;
  }
  if (await hasApiToken(db, ADMIN_TOKEN_NAME)) return;
  const token = generateSecret('ufa');
  await putApiToken(db, ADMIN_TOKEN_NAME, hashSecret(token), ['admin']);
  announce(token);
}
