/**
 * The shell around decideFallback: verifies and caches briefings, feeds the link's state changes
 * and its own timer to the decision, one input at a time, and carries out the effects.
 */
import type { CryptoKey } from 'jose';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import { SignatureError } from '../../../shared/src/signing.js';
import { verifyBriefing } from '../../../shared/src/tokens.js';
import type { ExecutedOrderStore } from '../executed-orders.js';
import type { LinkState } from '../link.js';
import { verifyWithAny } from '../pinned-key.js';
import { loadBriefingCache, saveBriefingCache } from './briefing-cache.js';
import {
  type CachedBriefing,
  type Countdown,
  decideFallback,
  type FallbackEffect,
  type FallbackInput,
  type FallbackState,
  healthOf,
  initialFallbackState,
} from './decide-fallback.js';
import { describeRule, logFallbackEffect } from './fallback-log.js';
import { fallbackId } from './fallback-shutdown.js';
import { nextLastKnown } from './power-health.js';

/** Runs `fn` after `ms`; the returned function cancels it. */
export type Schedule = (ms: number, fn: () => void) => () => void;

const realSchedule: Schedule = (ms, fn) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export interface FailSafeOptions {
  /** This agent's id: the audience every briefing must carry. */
  readonly agentId: string;
  /** The pinned coordinator public key. */
  readonly coordinatorKey: CryptoKey;
  /** When given, the keys to try instead (the pinned key, and the previous one just after a rotation). */
  readonly coordinatorKeys?: () => readonly CryptoKey[];
  readonly clockToleranceMs: number;
  /** Where the latest briefing is kept (the state dir's briefing.json). */
  readonly file: string;
  /** Where fallback shutdowns are recorded as `fallback:<version>`. */
  readonly executed: ExecutedOrderStore;
  /** Runs the configured shutdown; never rejects. */
  readonly runShutdown: (countdown: Countdown) => Promise<void>;
  /** The config's host.fallback.after, for the log: it cannot act without a known power state. */
  readonly localAfter: number | undefined;
  /** When this machine booted (ms since the epoch): older cached briefings are stale. */
  readonly bootTime: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly schedule?: Schedule;
}

export interface FailSafe {
  /** A briefing frame's token: verified, and cached if newer. */
  briefing(token: string): void;
  linkState(state: LinkState): void;
  /** Resolves when every input so far is handled and a started shutdown has finished. */
  idle(): Promise<void>;
  /** Cancels the countdown and ignores further inputs; a running shutdown is left alone. */
  stop(): Promise<void>;
}

export async function openFailSafe(options: FailSafeOptions): Promise<FailSafe> {
  const { clock, logger } = options;
  const schedule = options.schedule ?? realSchedule;
  const verify = async (token: string) =>
    (
      await verifyWithAny(options.coordinatorKeys?.() ?? [options.coordinatorKey], (key) =>
        verifyBriefing(token, key, {
          agentId: options.agentId,
          now: clock.now(),
          clockToleranceMs: options.clockToleranceMs,
        }),
      )
    ).claims;
  const loaded = await loadBriefingCache(options.file, { verify, bootTime: options.bootTime, logger });
  let floor = loaded.floor;
  const cached = loaded.briefing;
  let state: FallbackState = initialFallbackState(
    cached,
    cached !== undefined && options.executed.has(fallbackId(cached.claims.version)),
  );
  if (cached !== undefined) {
    const { claims } = cached;
    logger.info(`cached briefing ${claims.version}: ${healthOf(cached).summary}; ${describeRule(claims)}`);
  }
  let chain: Promise<void> = Promise.resolve();
  let shutdowns: Promise<void> = Promise.resolve();
  let armed: { deadline: number; cancel: () => void } | undefined;
  let stopped = false;

  const enqueue = (task: () => Promise<void> | void): void => {
    chain = chain.then(task).catch((error: unknown) => {
      logger.error(`fail-safe: ${errorMessage(error)}`);
    });
  };

  const syncTimer = (): void => {
    const deadline = state.countdown?.deadline;
    if (armed !== undefined && armed.deadline === deadline) return;
    armed?.cancel();
    armed = undefined;
    if (deadline === undefined || stopped) return;
    const cancel = schedule(Math.max(0, deadline - clock.now()), () => {
      armed = undefined;
      enqueue(() => apply({ kind: 'due' }));
    });
    armed = { deadline, cancel };
  };

  const carryOut = (effect: FallbackEffect): void => {
    logFallbackEffect(logger, effect, {
      version: state.briefing?.claims.version,
      localAfter: options.localAfter,
    });
    if (effect.kind === 'shutdown') {
      const run = options.runShutdown(effect.countdown);
      shutdowns = shutdowns.then(() => run);
    }
  };

  const apply = (input: FallbackInput): void => {
    if (stopped) return;
    const decision = decideFallback(state, input, clock.now());
    state = decision.state;
    syncTimer();
    for (const effect of decision.effects) carryOut(effect);
  };

  const accept = async (token: string): Promise<void> => {
    let claims: BriefingClaims;
    try {
      claims = await verify(token);
    } catch (error) {
      const reason = error instanceof SignatureError ? error.reason : 'malformed';
      logger.warn(`briefing refused: ${reason}`, { detail: errorMessage(error) });
      return;
    }
    if (claims.version <= floor) {
      logger.info(`briefing ${claims.version} ignored: not newer than ${floor}`);
      return;
    }
    floor = claims.version;
    const briefing: CachedBriefing = {
      token,
      claims,
      receivedAt: clock.now(),
      lastKnown: nextLastKnown(state.briefing?.lastKnown ?? {}, claims),
    };
    try {
      await saveBriefingCache(options.file, briefing);
    } catch (error) {
      logger.error(`could not store the briefing (kept in memory only): ${errorMessage(error)}`);
    }
    logger.info(`briefing ${claims.version}: ${healthOf(briefing).summary}; ${describeRule(claims)}`);
    apply({ kind: 'briefing', briefing });
  };

  return {
    briefing: (token) => enqueue(() => accept(token)),
    linkState: (linkState) => enqueue(() => apply({ kind: 'link', state: linkState })),
    idle: async () => {
      await chain;
      await shutdowns;
    },
    async stop() {
      stopped = true;
      armed?.cancel();
      armed = undefined;
      await chain;
    },
  };
}
