/**
 * The host's fail-safe, as a pure decision: `decideFallback(state, input, now) → { state, effects }`.
 * The shell (fail-safe.ts) feeds it the link's state changes, each newer verified briefing and its
 * own timer, and carries out the effects (log lines, the timer, the shutdown).
 *
 * The rules:
 * - Losing the coordinator is the link closing (refused, dropped, or a half-open connection the link
 *   gave up on after its idle timeout). Connecting again proves nothing until a briefing arrives.
 * - On that loss, if the cached briefing says fewer than minSupplies feeds are healthy and carries
 *   a fallback rule, a countdown of `fallback.after` starts. When it runs out, the configured
 *   shutdown runs, once per briefing version (a restart never repeats it).
 * - A newer briefing (only the coordinator can sign one, and it sends one after every hello) cancels
 *   the countdown, whatever it says about the power: the coordinator is in charge again. If the link
 *   drops again, the rule starts over.
 * - The signed rule is the only rule: `fallback: null` means no fallback for this host. Without any
 *   briefing the power state is unknown, and unknown is never read as on battery: no countdown.
 */
import { assertNever } from '../../../shared/src/assert-never.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import type { LinkState } from '../link.js';
import { assessPower, type LastKnownPower, type PowerHealth } from './power-health.js';

export interface CachedBriefing {
  /** The compact JWS as the coordinator signed it. */
  readonly token: string;
  readonly claims: BriefingClaims;
  /** When this agent accepted it (ms since the epoch, its own clock). */
  readonly receivedAt: number;
  readonly lastKnown: LastKnownPower;
}

export interface Countdown {
  /** The briefing version it started from: the shutdown is recorded as `fallback:<version>`. */
  readonly version: number;
  readonly after: number;
  readonly deadline: number;
}

export interface FallbackState {
  readonly briefing: CachedBriefing | undefined;
  /** The link closed and no briefing has arrived since. */
  readonly lost: boolean;
  readonly countdown: Countdown | undefined;
  /** The briefing version whose fallback shutdown already ran. */
  readonly ran: number | undefined;
}

export type FallbackInput =
  | { readonly kind: 'link'; readonly state: LinkState }
  /** A verified briefing newer than the cached one. */
  | { readonly kind: 'briefing'; readonly briefing: CachedBriefing }
  /** The countdown's timer fired. */
  | { readonly kind: 'due' };

export type HoldReason = 'no-briefing' | 'power-fine' | 'no-rule' | 'already-ran';

export type FallbackEffect =
  | { readonly kind: 'start'; readonly countdown: Countdown; readonly health: PowerHealth }
  /** Lost the coordinator, but no countdown, and why. */
  | { readonly kind: 'hold'; readonly reason: HoldReason; readonly health?: PowerHealth }
  | { readonly kind: 'cancel'; readonly countdown: Countdown; readonly health: PowerHealth }
  | { readonly kind: 'shutdown'; readonly countdown: Countdown };

export interface FallbackDecision {
  readonly state: FallbackState;
  readonly effects: readonly FallbackEffect[];
}

export function initialFallbackState(briefing: CachedBriefing | undefined, ran: boolean): FallbackState {
  return {
    briefing,
    lost: false,
    countdown: undefined,
    ran: ran && briefing !== undefined ? briefing.claims.version : undefined,
  };
}

export function healthOf(briefing: CachedBriefing): PowerHealth {
  return assessPower(briefing.claims, briefing.lastKnown);
}

function onLoss(state: FallbackState, now: number): FallbackDecision {
  const lost = { ...state, lost: true };
  const { briefing } = state;
  if (briefing === undefined) return { state: lost, effects: [{ kind: 'hold', reason: 'no-briefing' }] };
  const health = healthOf(briefing);
  const { version, fallback } = briefing.claims;
  const hold = (reason: HoldReason): FallbackDecision => ({
    state: lost,
    effects: [{ kind: 'hold', reason, health }],
  });
  if (!health.inTrouble) return hold('power-fine');
  if (fallback === null) return hold('no-rule');
  if (state.ran === version) return hold('already-ran');
  const countdown = { version, after: fallback.after, deadline: now + fallback.after };
  return { state: { ...lost, countdown }, effects: [{ kind: 'start', countdown, health }] };
}

export function decideFallback(state: FallbackState, input: FallbackInput, now: number): FallbackDecision {
  switch (input.kind) {
    case 'link':
      // Only a closed link is a loss; one loss at a time (reconnect attempts that fail add nothing).
      if (input.state !== 'closed' || state.lost) return { state, effects: [] };
      return onLoss(state, now);
    case 'briefing': {
      const next = { ...state, briefing: input.briefing, lost: false, countdown: undefined };
      if (state.countdown === undefined) return { state: next, effects: [] };
      const health = healthOf(input.briefing);
      return { state: next, effects: [{ kind: 'cancel', countdown: state.countdown, health }] };
    }
    case 'due': {
      const { countdown } = state;
      if (countdown === undefined || now < countdown.deadline) return { state, effects: [] };
      return {
        state: { ...state, countdown: undefined, ran: countdown.version },
        effects: [{ kind: 'shutdown', countdown }],
      };
    }
    default:
      return assertNever(input, 'fallback input');
  }
}
