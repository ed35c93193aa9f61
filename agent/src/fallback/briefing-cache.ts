/**
 * The latest briefing, kept in the state directory (briefing.json, 0600) so that an agent restarted
 * while cut off from the coordinator still knows its power and its fallback rule. Written
 * atomically; on load the token is verified again (pinned key, audience, expiry).
 */
import { z } from 'zod';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import { readFileIfExists, writeFileAtomic } from '../atomic-file.js';
import { parseJsonFile } from '../state-dir.js';
import type { LastKnownPower } from './power-health.js';

export interface CachedBriefing {
  /** The compact JWS as the coordinator signed it. */
  readonly token: string;
  readonly claims: BriefingClaims;
  /** When this agent accepted it (ms since the epoch, its own clock). */
  readonly receivedAt: number;
  readonly lastKnown: LastKnownPower;
}

const CacheFileSchema = z.object({
  version: z.literal(1),
  /** The briefing's version, kept even when the briefing itself is no longer used. */
  briefingVersion: z.number().int().nonnegative(),
  token: z.string().min(1),
  receivedAt: z.number(),
  lastKnown: z.record(z.string(), z.enum(['online', 'battery'])),
});

export function saveBriefingCache(path: string, briefing: CachedBriefing): Promise<void> {
  const { token, receivedAt, lastKnown } = briefing;
  const data = {
    version: 1,
    briefingVersion: briefing.claims.version,
    token,
    receivedAt,
    lastKnown,
  } satisfies z.input<typeof CacheFileSchema>;
  return writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, 0o600);
}

export interface LoadBriefingOptions {
  /** Verifies the token as a freshly received one would be; rejects with the reason. */
  readonly verify: (token: string) => Promise<BriefingClaims>;
  /** When this machine booted (ms since the epoch). */
  readonly bootTime: number;
  readonly logger: Logger;
}

export interface LoadedBriefing {
  /** The briefing to act on, if any. */
  readonly briefing: CachedBriefing | undefined;
  /** The newest version this agent has accepted: anything at or below it is a replay. */
  readonly floor: number;
}

/**
 * The cached briefing, or none (the reason logged) when there is none, when it cannot be read or no
 * longer verifies, or when it arrived before this machine booted: power came back for the machine
 * to start, so a pre-boot "on battery" is stale and must not shut it down again.
 */
export async function loadBriefingCache(path: string, options: LoadBriefingOptions): Promise<LoadedBriefing> {
  const { logger } = options;
  let entry: z.output<typeof CacheFileSchema>;
  try {
    const text = await readFileIfExists(path);
    if (text === undefined) return { briefing: undefined, floor: -1 };
    entry = parseJsonFile(CacheFileSchema, text, path);
  } catch (error) {
    logger.warn(`ignoring the cached briefing: ${errorMessage(error)}`, { path });
    return { briefing: undefined, floor: -1 };
  }
  const floor = entry.briefingVersion;
  let claims: BriefingClaims;
  try {
    claims = await options.verify(entry.token);
  } catch (error) {
    logger.warn(`ignoring the cached briefing ${floor}: ${errorMessage(error)}`, { path });
    return { briefing: undefined, floor };
  }
  if (entry.receivedAt < options.bootTime) {
    logger.info(
      `the cached briefing ${floor} arrived before this machine booted: not acting on it; ` +
        'waiting for the coordinator to send a new one',
    );
    return { briefing: undefined, floor };
  }
  const briefing = { token: entry.token, claims, receivedAt: entry.receivedAt, lastKnown: entry.lastKnown };
  return { briefing, floor: Math.max(floor, claims.version) };
}
