/** The fail-safe's log lines: what it decided, and why, in words an admin greps for. */
import { formatDuration } from '../../../shared/src/duration.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import type { FallbackEffect } from './decide-fallback.js';

export function describeRule(claims: BriefingClaims): string {
  return claims.fallback === null
    ? 'no fallback rule'
    : `fallback: shut down ${formatDuration(claims.fallback.after)} after losing the coordinator`;
}

export interface FallbackLogContext {
  /** The cached briefing's version, if any. */
  readonly version: number | undefined;
  /** The config's local fallback delay, mentioned when it cannot apply. */
  readonly localAfter: number | undefined;
}

function logHold(
  logger: Logger,
  effect: Extract<FallbackEffect, { kind: 'hold' }>,
  context: FallbackLogContext,
): void {
  const fields = { briefing: context.version, power: effect.health?.summary };
  switch (effect.reason) {
    case 'no-briefing': {
      const local =
        context.localAfter === undefined
          ? ''
          : ` (the local fallback of ${formatDuration(context.localAfter)} needs a known on-battery state)`;
      logger.warn(
        `lost the coordinator with no briefing from it at hand: the power state is unknown, so no fallback countdown${local}`,
      );
      return;
    }
    case 'power-fine':
      logger.info('lost the coordinator; power is fine: no fallback countdown', fields);
      return;
    case 'no-rule':
      logger.warn(
        'lost the coordinator while on battery, but the policy gives this host no fallback rule: no countdown',
        fields,
      );
      return;
    case 'already-ran':
      logger.warn(
        `lost the coordinator while on battery, but the fallback shutdown for briefing ${context.version} already ran: not repeating it`,
      );
      return;
  }
}

/** Logs a start, hold or cancel effect (a shutdown logs itself as it runs). */
export function logFallbackEffect(logger: Logger, effect: FallbackEffect, context: FallbackLogContext): void {
  switch (effect.kind) {
    case 'start':
      logger.warn(
        `lost the coordinator while on battery: shutting down in ${formatDuration(effect.countdown.after)} by the fallback rule`,
        { briefing: effect.countdown.version, power: effect.health.summary },
      );
      return;
    case 'cancel':
      if (effect.health.inTrouble)
        logger.warn(
          'the coordinator is back, power still in trouble: fallback countdown cancelled, the coordinator is in charge again',
          { power: effect.health.summary },
        );
      else logger.info('the coordinator is back and power is fine: fallback countdown cancelled');
      return;
    case 'hold':
      logHold(logger, effect, context);
      return;
    case 'shutdown':
      return;
  }
}
