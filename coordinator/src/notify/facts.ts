/**
 * What happened, as plain data: the input of the notification pipeline (facts → messages → outbox →
 * channels). Facts carry no wording; messages.ts turns them into text. Each fact's `kind` is its
 * routing key, the word an admin lists in a channel's `events` (like NUT's NOTIFYFLAG, per channel).
 */
import type { NotifyEvent } from '../../../shared/src/protocol.js';

/**
 * The NUT notify events (as the watcher reports them), lower-case, plus our dead-UPS verdict and
 * `silent`: the coordinator lost contact with the watcher while its UPS was last on battery.
 */
export const UPS_KINDS = [
  'online',
  'onbatt',
  'lowbatt',
  'fsd',
  'commok',
  'commbad',
  'nocomm',
  'replbatt',
  'cal',
  'notcal',
  'off',
  'notoff',
  'bypass',
  'notbypass',
  'over',
  'notover',
  'trim',
  'nottrim',
  'boost',
  'notboost',
  'alarm',
  'notalarm',
  'dead',
  'silent',
] as const satisfies readonly (Lowercase<NotifyEvent> | 'dead' | 'silent')[];
export type UpsKind = (typeof UPS_KINDS)[number];

/** The routing kind of a NUT notify event. */
export function upsKindOf(event: NotifyEvent): UpsKind {
  return event.toLowerCase() as UpsKind;
}

/** The engine's run events worth telling a person, a failed shutdown, and a channel test. */
export const RUN_KINDS = [
  'run-started',
  'stage-fired',
  'host-down',
  'host-missing',
  'run-restoring',
  'run-resumed',
  'run-ended',
  'wake',
  'ups-power-off',
  'order-failed',
] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** Every routing kind; the admin API validates a channel's `events` list against it. */
export const NOTIFICATION_KINDS = [...UPS_KINDS, ...RUN_KINDS, 'test'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export function isNotificationKind(value: string): value is NotificationKind {
  return (NOTIFICATION_KINDS as readonly string[]).includes(value);
}

/** A UPS event, with the readings a person wants next to it. */
export interface UpsFact {
  readonly kind: UpsKind;
  readonly ups: string;
  /** When the coordinator learned of it (ms since the epoch). */
  readonly at: number;
  /** The `ups.status` words; null when unknown. */
  readonly status: readonly string[] | null;
  /** battery.charge, %. */
  readonly charge?: number | undefined;
  /** battery.runtime, seconds (as NUT reports it). */
  readonly runtime?: number | undefined;
  /** The stage that fires next because of this UPS, and in how long. */
  readonly nextStage?: { readonly name: string; readonly inMs: number } | undefined;
}

interface RunFactBase {
  readonly at: number;
  /** The engine's run number. */
  readonly run: number;
  /** A drill: nothing is really shut down; every message says so. */
  readonly drill: boolean;
}

export type RunFact = RunFactBase &
  (
    | { readonly kind: 'run-started'; readonly reason: string }
    | {
        readonly kind: 'stage-fired';
        readonly stage: string;
        readonly reason: string;
        /** The hosts ordered down by this stage now. */
        readonly hosts: readonly string[];
      }
    | {
        readonly kind: 'host-down';
        readonly host: string;
        readonly how: 'confirmed' | 'grace-expired' | 'drill' | 'offline';
      }
    | { readonly kind: 'host-missing'; readonly host: string }
    | { readonly kind: 'run-restoring'; readonly reason: string }
    | { readonly kind: 'run-resumed'; readonly reason: string }
    | {
        readonly kind: 'run-ended';
        readonly reason: 'restored' | 'interrupted' | 'drill-complete' | 'manual-complete';
      }
    | { readonly kind: 'wake'; readonly host: string }
    | { readonly kind: 'ups-power-off'; readonly ups: string }
    /** A host reported that its shutdown (or a drill check) failed. */
    | {
        readonly kind: 'order-failed';
        readonly host: string;
        readonly stage?: string | undefined;
        readonly error?: string | undefined;
        readonly exitCode?: number | null | undefined;
      }
  );

/** A channel test, sent by hand (`upsfleet notify test CHANNEL`). */
export interface TestFact {
  readonly kind: 'test';
  readonly at: number;
  readonly channel: string;
}

export type NotificationFact = UpsFact | RunFact | TestFact;

const UPS_KIND_SET: ReadonlySet<string> = new Set(UPS_KINDS);

export function isUpsFact(fact: NotificationFact): fact is UpsFact {
  return UPS_KIND_SET.has(fact.kind);
}
