/**
 * The engine's state, inputs and effects: plain, serialisable data. A run's state is stored after
 * every decision, so a restarted coordinator resumes exactly where it was.
 */
import type { PowerState } from '../../../shared/src/protocol.js';

export interface UpsView {
  readonly power: PowerState;
  readonly lowBattery: boolean;
  readonly fsd: boolean;
  /** upsmon's dead-UPS verdict (last seen on battery, silent past the dead time). */
  readonly dead: boolean;
  /** battery.charge, %. */
  readonly charge: number | undefined;
  /** battery.runtime, ms. */
  readonly runtime: number | undefined;
  /** On battery since (ms), without a confirmed return to mains; undefined on mains. */
  readonly batterySince: number | undefined;
  /** On mains since (ms), without interruption; undefined otherwise. */
  readonly onlineSince: number | undefined;
  /** When the coordinator last heard about this UPS (its own clock). */
  readonly lastSeen?: number;
}

export type OrderStatus = 'ordered' | 'accepted' | 'started' | 'failed' | 'refused' | 'drilled' | 'down';

export interface RunHost {
  readonly stage: string;
  readonly orderedAt: number;
  readonly status: OrderStatus;
  /** Counts as down by then at the latest (its stage's grace). */
  readonly graceUntil: number;
  readonly downAt?: number;
  readonly downHow?: 'confirmed' | 'grace-expired' | 'drill' | 'offline';
}

export type StageStatus = 'pending' | 'waiting' | 'fired' | 'complete' | 'cancelled';

export interface RunStage {
  readonly status: StageStatus;
  /** Why it fired or waits: the trigger condition, "required by X", "manual", "drill". */
  readonly reason?: string;
  /** Fired because a later stage or an admin needed it, not by its own trigger. */
  readonly forced?: boolean;
  /** Fired by an admin (or pulled forward by such a stage): its hosts go down whatever the power says. */
  readonly manual?: boolean;
  /** Pulled forward: the hosts endangered at that moment, ordered without this stage's own trigger. */
  readonly forcedHosts?: readonly string[];
  readonly firedAt?: number;
  readonly completedAt?: number;
  /** The prerequisites it waited for (set once, when it started waiting). */
  readonly blockedBy?: readonly string[];
}

export interface RunWake {
  readonly at: number;
  readonly back?: number;
  readonly missing?: true;
}

export interface RunState {
  readonly number: number;
  readonly kind: 'outage' | 'drill';
  readonly phase: 'active' | 'restoring';
  readonly startedAt: number;
  readonly stages: Readonly<Record<string, RunStage>>;
  readonly hosts: Readonly<Record<string, RunHost>>;
  /** Stages an admin fired by hand. */
  readonly manual: readonly string[];
  readonly restore: { readonly since: number; readonly woken: Readonly<Record<string, RunWake>> } | undefined;
  /** UPSes the power-off command was sent to. */
  readonly powerOff: readonly string[];
  /** Some UPS was in trouble during this run (a run started by hand on mains has none). */
  readonly troubled?: boolean;
}

export interface EngineState {
  readonly ups: Readonly<Record<string, UpsView>>;
  readonly run: RunState | undefined;
  readonly nextRunNumber: number;
  /** Until then no stage fires (set after a coordinator restart, so that stale state settles first). */
  readonly holdUntil?: number;
}

export const initialEngineState: EngineState = { ups: {}, run: undefined, nextRunNumber: 1 };

/**
 * The host agents' connections as they were before an input: `true` connected, `false` its
 * connection closed, absent not heard of since the coordinator started. Not engine state: the shell
 * keeps them (a hello or a goodbye costs nothing unless a run needs it) and they are never stored.
 */
export type Connections = ReadonlyMap<string, boolean>;

/** Is the host connected, the input itself counted: `false` when its connection is known to be closed. */
export type IsConnected = (host: string) => boolean | undefined;

/**
 * Whether a hello or a goodbye can change what the engine decides: a host woken in a restore coming
 * back, or a host whose shutdown started going away. Otherwise the shell only notes the connection
 * (deadlines are the timer's); no decision, nothing stored.
 */
export function connectionMatters(
  state: EngineState,
  input: Extract<EngineInput, { kind: 'host-connected' | 'host-disconnected' }>,
): boolean {
  const run = state.run;
  if (run === undefined) return false;
  if (run.restore !== undefined) return true;
  return input.kind === 'host-disconnected' && run.hosts[input.host]?.status === 'started';
}

/** The connections after an input: what the shell (or a simulation) keeps between decisions. */
export function applyConnection(connections: Map<string, boolean>, input: EngineInput): void {
  if (input.kind === 'host-connected') connections.set(input.host, true);
  else if (input.kind === 'host-disconnected') connections.set(input.host, false);
}

export type EngineInput =
  | {
      readonly kind: 'ups';
      readonly ups: string;
      readonly power: PowerState;
      readonly lowBattery: boolean;
      readonly fsd: boolean;
      readonly dead: boolean;
      readonly charge: number | undefined;
      readonly runtime: number | undefined;
      readonly at: number;
    }
  | { readonly kind: 'host-connected'; readonly host: string }
  | { readonly kind: 'host-disconnected'; readonly host: string }
  /** What a host said about its order in this run. */
  | {
      readonly kind: 'order-report';
      readonly host: string;
      readonly report: 'accepted' | 'duplicate' | 'rejected' | 'started' | 'succeeded' | 'failed' | 'drill';
    }
  /**
   * A host reported that it shut down on its own (no valid lease, its offline rule or fallback):
   * it counts as down in this run, and no stage orders it again. `stage`: the stage that lists it.
   */
  | { readonly kind: 'host-down-offline'; readonly host: string; readonly stage: string }
  | { readonly kind: 'manual'; readonly stage: string }
  | { readonly kind: 'start-drill' }
  /** Time passed (a wake-up) or the policy changed: re-evaluate. */
  | { readonly kind: 'tick' };

/** What the shell must do and record; the run events double as notification hook-points. */
export type Effect =
  | {
      readonly kind: 'run-started';
      readonly run: number;
      readonly runKind: RunState['kind'];
      readonly reason: string;
    }
  | { readonly kind: 'run-restoring'; readonly run: number; readonly reason: string }
  | { readonly kind: 'run-resumed'; readonly run: number; readonly reason: string }
  | {
      readonly kind: 'run-ended';
      readonly run: number;
      readonly reason: 'restored' | 'interrupted' | 'drill-complete' | 'manual-complete';
    }
  | { readonly kind: 'stage-fired'; readonly run: number; readonly stage: string; readonly reason: string }
  | {
      readonly kind: 'stage-waiting';
      readonly run: number;
      readonly stage: string;
      readonly waitingFor: readonly string[];
    }
  | { readonly kind: 'stage-complete'; readonly run: number; readonly stage: string }
  | {
      readonly kind: 'stage-cancelled';
      readonly run: number;
      readonly stage: string;
      readonly reason: string;
    }
  | {
      readonly kind: 'order';
      readonly run: number;
      readonly stage: string;
      readonly host: string;
      readonly drill: boolean;
      readonly deadline: number;
    }
  | {
      readonly kind: 'host-down';
      readonly run: number;
      readonly host: string;
      readonly how: 'confirmed' | 'grace-expired' | 'drill' | 'offline';
    }
  | { readonly kind: 'wake'; readonly run: number; readonly host: string }
  | { readonly kind: 'host-back'; readonly run: number; readonly host: string }
  | { readonly kind: 'host-missing'; readonly run: number; readonly host: string }
  | { readonly kind: 'ups-power-off'; readonly run: number; readonly ups: string }
  | { readonly kind: 'wake-at'; readonly at: number };

export type RunEffect = Exclude<Effect, { kind: 'wake-at' }>;
