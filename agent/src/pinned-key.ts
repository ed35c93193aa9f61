/**
 * The coordinator key this agent trusts. It changes only through a rotation statement signed by the
 * key pinned now; after a re-pin the previous key is still accepted for a short while, so orders
 * signed just before the rotation are not refused.
 */
import type { CryptoKey } from 'jose';
import type { Clock } from '../../shared/src/clock.js';

/** How long the previous key stays accepted after a rotation (an order's lifetime). */
export const PREVIOUS_KEY_GRACE_MS = 10 * 60_000;

export interface PinnedKeys {
  readonly current: CryptoKey;
  /** The keys an order or briefing may be signed with right now, current first. */
  candidates(): readonly CryptoKey[];
  repin(next: CryptoKey): void;
}

export function createPinnedKeys(initial: CryptoKey, clock: Clock): PinnedKeys {
  let current = initial;
  let previous: { key: CryptoKey; until: number } | undefined;
  return {
    get current() {
      return current;
    },
    candidates() {
      return previous !== undefined && clock.now() < previous.until ? [current, previous.key] : [current];
    },
    repin(next) {
      previous = { key: current, until: clock.now() + PREVIOUS_KEY_GRACE_MS };
      current = next;
    },
  };
}

/** Tries each key in turn; a signature by none of them throws the first key's error. */
export async function verifyWithAny<T>(
  keys: readonly CryptoKey[],
  verify: (key: CryptoKey) => Promise<T>,
): Promise<T> {
  let first: unknown;
  for (const key of keys) {
    try {
      return await verify(key);
    } catch (error) {
      first ??= error;
    }
  }
  throw first;
}
