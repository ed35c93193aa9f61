/**
 * What the fleet shell's jobs share: their dependencies, the current policy and engine state (changed
 * only inside the serial queue), the briefings and the engine's one timer.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import type { EngineState } from '../core/engine.js';
import type { Policy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import type { MetricsHooks } from '../metrics/hooks.js';
import type { NotificationFact } from '../notify/facts.js';
import type { Hub } from '../ws/hub.js';
import type { Briefings } from './briefings.js';
import type { Scheduler } from './scheduler.js';

export interface FleetDeps {
  readonly db: Db;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: SigningKeyPair;
  /** How long an order stays valid after it is issued. */
  readonly orderTtlMs: number;
  /** Notifications: written to the outbox inside each decision's transaction, delivered after commit. */
  readonly notifier?: {
    publish(tx: Db, facts: readonly NotificationFact[], now: number): Promise<number>;
    kick(): void;
  };
  readonly metrics?: MetricsHooks;
  /** How long stages wait for fresh readings after a restart with a run in progress. */
  readonly resumeSettleMs?: number;
  /** Told after each input has been handled and committed (the live stream reads what is new). */
  readonly onCommitted?: () => void;
  /** The engine's one wake-up; a `setTimeout` unless given (an edge runtime passes its alarm). */
  readonly scheduler?: Scheduler;
}

/** The engine's wake-up: armed after each decision for the earliest deadline, or cleared. */
export interface EngineTimer {
  schedule(at: number | undefined): void;
  stop(): void;
}

export interface FleetContext {
  readonly deps: FleetDeps;
  readonly briefings: Briefings;
  readonly timer: EngineTimer;
  /** Both change only inside the serial queue. */
  policy: Policy | undefined;
  state: EngineState;
}
