/**
 * The watcher role: one poller per configured UPS; each reading goes through upsmon's event rules,
 * and what the coordinator needs to know is queued in the outbox — every notify event, every change
 * of the status words or of the dead-UPS verdict, and a snapshot every `snapshotInterval`
 * (`alertSnapshotInterval` while on battery, when charge and runtime matter).
 */
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { interpretStatus } from '../../../shared/src/nut-status.js';
import type { UpsWatchConfig } from '../config.js';
import type { NutSession, NutSessionOptions } from '../nut/session.js';
import { deriveEvents, initialWatchState, type Reading, type WatchState } from './notify-events.js';
import type { Outbox, PendingEvent } from './outbox.js';
import { startUpsPoller, type UpsPoller } from './ups-poller.js';

/** Always sent with a snapshot; other variables only when they changed since the last one sent. */
export const CORE_VARS = [
  'battery.charge',
  'battery.charge.low',
  'battery.runtime',
  'battery.runtime.low',
  'ups.load',
  'input.voltage',
] as const;

export interface WatcherOptions {
  readonly ups: readonly UpsWatchConfig[];
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called after each enqueue, to wake the delivery. */
  readonly onEnqueued: () => void;
  readonly createSession?: (options: NutSessionOptions) => NutSession;
}

export interface Watcher {
  stop(): Promise<void>;
}

interface Sent {
  readonly at: number;
  readonly status: string;
  readonly dead: boolean;
  readonly vars: Readonly<Record<string, string>>;
}

/** What to send for one reading, or undefined when nothing is worth sending. Pure. */
export function planEvent(
  ups: UpsWatchConfig,
  reading: Reading,
  derived: { events: readonly PendingEvent['events'][number][]; dead: boolean },
  last: Sent | undefined,
  at: number,
): { event: PendingEvent; sent: Sent } | undefined {
  const status = reading.kind === 'ok' ? reading.status : null;
  const statusKey = status === null ? 'unknown' : status.join(' ');
  const onBattery = derived.dead || interpretStatus(status).power === 'battery';
  const interval = onBattery ? ups.alertSnapshotInterval : ups.snapshotInterval;
  const due = last === undefined || at - last.at >= interval;
  const changed = last === undefined || statusKey !== last.status || derived.dead !== last.dead;
  if (derived.events.length === 0 && !changed && !due) return undefined;
  const current = reading.kind === 'ok' ? reading.vars : {};
  const vars = pickVars(current, last?.vars ?? {});
  return {
    event: { ups: ups.id, observedAt: at, status, events: [...derived.events], vars, dead: derived.dead },
    // Only what was sent counts as sent: variables left out this time are still "changed" next time.
    sent: { at, status: statusKey, dead: derived.dead, vars: { ...last?.vars, ...vars } },
  };
}

/** Variables per event are bounded so that a 500-variable PDU still fits a frame (core ones first). */
export const MAX_EVENT_VARS = 120;
export const MAX_EVENT_VAR_BYTES = 6_000;

function pickVars(
  current: Readonly<Record<string, string>>,
  sent: Readonly<Record<string, string>>,
): Record<string, string> {
  const core = (CORE_VARS as readonly string[]).filter((name) => current[name] !== undefined);
  const changed = Object.keys(current)
    .filter((name) => !core.includes(name) && sent[name] !== current[name])
    .sort();
  const vars: Record<string, string> = {};
  let bytes = 0;
  let count = 0;
  for (const name of [...core, ...changed]) {
    const value = current[name] ?? '';
    const size = name.length + value.length + 6;
    if (!core.includes(name) && (count >= MAX_EVENT_VARS || bytes + size > MAX_EVENT_VAR_BYTES)) break;
    vars[name] = value;
    bytes += size;
    count += 1;
  }
  return vars;
}

export function startWatcher(options: WatcherOptions): Watcher {
  const { outbox, clock, logger } = options;
  const pollers: UpsPoller[] = options.ups.map((ups) => {
    let state: WatchState = initialWatchState;
    let last: Sent | undefined;
    return startUpsPoller({
      ups,
      clock,
      logger,
      ...(options.createSession === undefined ? {} : { createSession: options.createSession }),
      onReading: (reading, at) => {
        const derived = deriveEvents(state, reading, at, { deadTimeMs: ups.deadTime });
        state = derived.state;
        if (derived.events.length > 0)
          logger.info(`UPS ${ups.id}: ${derived.events.join(', ')}`, { ups: ups.id });
        const plan = planEvent(ups, reading, derived, last, at);
        if (plan === undefined) return;
        last = plan.sent;
        outbox
          .enqueue(plan.event)
          .then(options.onEnqueued)
          .catch((error: unknown) =>
            logger.error(`could not queue an event for UPS ${ups.id}: ${errorMessage(error)}`),
          );
      },
    });
  });
  return {
    async stop() {
      await Promise.all(pollers.map((poller) => poller.stop()));
    },
  };
}
