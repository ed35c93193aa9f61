/**
 * The coordinator's own Ed25519 key and its rotation. The key ring behaves like a key pair but always
 * holds the current key, so every signer picks up a rotation at once. A rotation stores, in one
 * transaction, the new key and a statement signed by the previous key that introduces it; the chain
 * of statements is sent to every agent when it says hello, so agents re-pin from whatever key they
 * had, even after being offline through several rotations.
 */
import { z } from 'zod';
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { signRekey } from '../../../shared/src/tokens.js';
import { SIGNING_KEY_SETTING } from '../bootstrap.js';
import type { Db } from '../db/client.js';
import { getSetting, putSetting } from '../db/queries/settings.js';
import type { Hub } from '../ws/hub.js';

const CHAIN_SETTING = 'coordinator_key_chain';

export interface KeyRing extends SigningKeyPair {
  /** Rotation statements, oldest first. */
  readonly chain: readonly string[];
  rotate(next: SigningKeyPair, statement: string): void;
}

export async function createKeyRing(db: Db, initial: SigningKeyPair): Promise<KeyRing> {
  let current = initial;
  const chain: string[] = [...((await getSetting(db, CHAIN_SETTING, z.array(z.string()))) ?? [])];
  return {
    get privateKey() {
      return current.privateKey;
    },
    get publicKey() {
      return current.publicKey;
    },
    get publicJwk() {
      return current.publicJwk;
    },
    get kid() {
      return current.kid;
    },
    get chain() {
      return chain;
    },
    rotate(next, statement) {
      current = next;
      chain.push(statement);
    },
  };
}

export async function rotateCoordinatorKey(deps: {
  db: Db;
  ring: KeyRing;
  hub: Hub;
  clock: Clock;
  logger: Logger;
}): Promise<{ kid: string; previousKid: string }> {
  const previousKid = deps.ring.kid;
  const { keyPair: next, stored } = await generateSigningKey();
  const statement = await signRekey(deps.ring, next.publicJwk, deps.clock.now(), next.kid);
  await deps.db.transaction(async (tx) => {
    await putSetting(tx, SIGNING_KEY_SETTING, stored);
    await putSetting(tx, CHAIN_SETTING, [...deps.ring.chain, statement]);
  });
  deps.ring.rotate(next, statement);
  deps.hub.broadcast({ type: 'rekey', token: statement });
  deps.logger.warn('coordinator key rotated: agents re-pin on their next message or hello', {
    kid: next.kid,
    previous: previousKid,
  });
  return { kid: next.kid, previousKid };
}
