/**
 * The host's own reading of its UPSes (`host.upsd:`): the watcher's poller and upsmon's rules,
 * read-only (no events are sent). When each UPS went on battery, as this host saw it, is kept in the
 * state dir (own-readings.json), so that an agent restarted mid-outage keeps counting from then.
 */
import { z } from 'zod';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { readFileIfExists, writeFileAtomic } from '../atomic-file.js';
import type { HostUpsdConfig } from '../config.js';
import type { NutSession, NutSessionOptions } from '../nut/session.js';
import { parseJsonFile } from '../state-dir.js';
import { deriveEvents, initialWatchState, type WatchState } from '../watcher/notify-events.js';
import { startUpsPoller, type UpsPoller } from '../watcher/ups-poller.js';
import { describeOwnReading, nextOwnReading, type OwnReading } from './own-reading.js';

const FileSchema = z.object({
  version: z.literal(1),
  /** UPS id → when this host first saw it on battery (ms, its clock). */
  batterySince: z.record(z.string(), z.number()),
});

export interface HostReadingsOptions {
  readonly upsd: readonly HostUpsdConfig[];
  /** own-readings.json in the state dir. */
  readonly file: string;
  /** Older on-battery times are from before this machine booted: power came back since. */
  readonly bootTime: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Who reads, for log lines: `this host` (default) or `the bridge`. */
  readonly who?: string;
  /** Every reading, after it is applied. `changed`: its status, reason or dead verdict changed. */
  readonly onReading: (reading: OwnReading, changed: boolean) => void;
  readonly createSession?: (options: NutSessionOptions) => NutSession;
}

export interface HostReadings {
  current(): Readonly<Record<string, OwnReading>>;
  stop(): Promise<void>;
}

async function loadBatterySince(options: HostReadingsOptions): Promise<Record<string, number>> {
  try {
    const text = await readFileIfExists(options.file);
    if (text === undefined) return {};
    const stored = parseJsonFile(FileSchema, text, options.file).batterySince;
    return Object.fromEntries(Object.entries(stored).filter(([, at]) => at >= options.bootTime));
  } catch (error) {
    options.logger.warn(`ignoring ${options.file}: ${errorMessage(error)}`);
    return {};
  }
}

const keyOf = (reading: OwnReading): string =>
  JSON.stringify([reading.fresh ? reading.status : null, reading.reason ?? null, reading.dead]);

export async function startHostReadings(options: HostReadingsOptions): Promise<HostReadings> {
  const { clock, logger } = options;
  const readings: Record<string, OwnReading> = {};
  const restored = await loadBatterySince(options);
  let saved = JSON.stringify(restored);
  let writes: Promise<void> = Promise.resolve();

  /** Queues the write of the on-battery times when they changed; every reading waits for it. */
  const persist = (): void => {
    const batterySince: Record<string, number> = {};
    for (const [id, reading] of Object.entries(readings))
      if (reading.batterySince !== undefined) batterySince[id] = reading.batterySince;
    const text = JSON.stringify(batterySince);
    if (text === saved) return;
    saved = text;
    const data = `${JSON.stringify({ version: 1, batterySince }, null, 2)}\n`;
    writes = writes
      .then(() => writeFileAtomic(options.file, data, 0o600))
      .catch((error: unknown) =>
        logger.error(`could not store when the power went (kept in memory): ${errorMessage(error)}`),
      );
  };
  /** A reading is acted on only once the time it started counting is on disk: a restart resumes it. */
  const deliver = (reading: OwnReading, changed: boolean): void => {
    writes = writes
      .then(() => options.onReading(reading, changed))
      .catch((error: unknown) => logger.error(`handling a reading failed: ${errorMessage(error)}`));
  };

  const pollers: UpsPoller[] = options.upsd.map((ups) => {
    let watch: WatchState = initialWatchState;
    const since = restored[ups.id];
    let previous: Pick<OwnReading, 'batterySince' | 'charge' | 'runtime'> | undefined =
      since === undefined ? undefined : { batterySince: since, charge: undefined, runtime: undefined };
    return startUpsPoller({
      ups,
      clock,
      logger,
      ...(options.createSession === undefined ? {} : { createSession: options.createSession }),
      onReading: (reading, at) => {
        watch = deriveEvents(watch, reading, at, { deadTimeMs: ups.deadTime }).state;
        const next = nextOwnReading(previous, ups.id, watch, reading, at, ups.deadTime);
        const before = readings[ups.id];
        const changed = before === undefined || keyOf(before) !== keyOf(next);
        previous = next;
        readings[ups.id] = next;
        if (changed)
          logger.info(`${options.who ?? 'this host'} reads UPS ${ups.id}: ${describeOwnReading(next)}`, {
            ups: ups.id,
          });
        persist();
        deliver(next, changed);
      },
    });
  });

  return {
    current: () => readings,
    async stop() {
      await Promise.all(pollers.map((poller) => poller.stop()));
      await writes;
    },
  };
}
