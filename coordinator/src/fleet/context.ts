/**
 * What the fleet shell's jobs share: their dependencies, the current policy and engine state (changed
 * only inside the serial queue), the batch being committed, the briefings and the engine's one timer.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import type { EngineDraft, EngineState } from '../core/engine.js';
import type { Policy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import type { OrderReport, OrderRow } from '../db/queries/orders.js';
import type { QueuedUpsEvents } from '../db/queries/ups-event-batch.js';
import type { MetricsHooks } from '../metrics/hooks.js';
import type { NotificationFact } from '../notify/facts.js';
import type { Hub } from '../ws/hub.js';
import type { Briefings } from './briefings.js';
import type { Outgoing } from './effects.js';
import type { NutBridges } from './nut-bridges.js';
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

/**
 * The inputs decided together and committed in one transaction (group-commit.ts). What they send —
 * orders, briefings, notifications — waits here until the commit.
 */
export interface Batch {
  /** Orders to send once committed. */
  readonly outgoing: Outgoing[];
  /** Log lines of the effects recorded. */
  readonly lines: string[];
  /** Work for after the commit (a hello's briefing and owed orders, say), in order. */
  readonly afterCommit: (() => Promise<void>)[];
  /** The wake-up the latest decision asked for; only meaningful when `decided`. */
  wake: number | undefined;
  /** Some input was decided: the engine state is stored and the timer re-armed. */
  decided: boolean;
  /** Something was written to the notification outbox. */
  notified: boolean;
  /**
   * The engine state being decided: copied once when the batch's first input is decided, changed
   * in place by the next ones. `fleet.state` is this draft until the batch ends.
   */
  draft: EngineDraft | undefined;
  /** A decision failed part-way through the draft: the batch cannot commit. */
  broken: boolean;
  /** Database ids of the engine's runs, as looked up in this batch (cleared when an input fails). */
  readonly runIds: Map<number, string>;
  /** Watchers' UPS events, checked on arrival and stored together (multi-row) just before the commit. */
  readonly upsEvents: QueuedUpsEvents;
  /** Hosts' acks and results, stored together (multi-row) just before the commit. */
  readonly reports: OrderReport[];
  /** Orders read in this batch, as stored before it (a host's ack and result read it once). */
  readonly orders: Map<string, OrderRow>;
}

export interface FleetContext {
  readonly deps: FleetDeps;
  /** The database for the input being handled: the batch's transaction while one is open. */
  db: Db;
  /** The batch being decided, if any. */
  batch: Batch | undefined;
  readonly briefings: Briefings;
  /** What each connected NUT bridge serves. */
  readonly bridges: NutBridges;
  readonly timer: EngineTimer;
  /** Both change only inside the serial queue. */
  policy: Policy | undefined;
  state: EngineState;
  /** The host agents' connections (by host name): not engine state, never stored. */
  readonly connections: Map<string, boolean>;
}
