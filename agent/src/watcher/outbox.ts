import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../../../shared/src/clock.js';
import { AppError, ProtocolError } from '../../../shared/src/errors.js';
import { type Logger, silentLogger } from '../../../shared/src/logger.js';
import type { UpsEventInput } from '../../../shared/src/protocol.js';
import { createSerialQueue } from '../../../shared/src/serial-queue.js';
import { readFileIfExists } from '../atomic-file.js';
import {
  applyRecord,
  createEmptyState,
  type JournalRecord,
  openJournal,
  parseJournal,
  QueuedEventSchema,
} from './outbox-file.js';

/**
 * The watcher's event outbox: a bounded, on-disk FIFO of UPS events awaiting the coordinator.
 * Sequence numbers are assigned when an event leaves the queue (`next()`), so they stay contiguous
 * even when a full queue discards its oldest events; the first event after a discard carries the
 * count as `dropped`. One event is in flight at a time and is re-sent unchanged until acked.
 * No timers: the delivery loop that calls `next()`/`ack()` lives elsewhere.
 */
export type PendingEvent = Omit<UpsEventInput, 'seq' | 'dropped'>;

export interface Outbox {
  /** Queues an event; durable (fsynced) when the promise resolves. */
  enqueue(event: PendingEvent): Promise<void>;
  /**
   * The next event to deliver, signed: the in-flight one if any (same seq and token, also after a
   * restart), else the head of the queue, which gets seq = lastSeq + 1 and `dropped`, is signed and
   * is persisted as in flight before it is returned. undefined when nothing is queued.
   */
  next(): Promise<{ seq: number; token: string } | undefined>;
  /** The coordinator stored (or already had) `seq`: the in-flight event is done. false for any other seq. */
  ack(seq: number): Promise<boolean>;
  /**
   * The coordinator refused `seq` for good (e.g. its token expired during a long outage): give it up
   * and count it as dropped on the next head, which explains the gap. false for any other seq.
   */
  abandon(seq: number): Promise<boolean>;
  /** Queued + in flight. */
  readonly size: number;
  /** Events discarded by this instance because the queue was full (for logs and metrics). */
  readonly dropped: number;
  close(): Promise<void>;
}

export interface OutboxOptions {
  readonly dir: string;
  /** Queued + in-flight events kept at most; the oldest queued are discarded beyond. Default 10,000. */
  readonly maxEvents?: number;
  readonly sign: (claims: UpsEventInput) => Promise<string>;
  readonly clock: Clock;
  readonly logger?: Logger;
}

export const OUTBOX_FILE = 'outbox.jsonl';
export const DEFAULT_MAX_EVENTS = 10_000;
/** The journal is rewritten once this many of its lines are dead, and at least as many as are live. */
export const COMPACT_MIN_DEAD_LINES = 1_024;

export async function openOutbox(options: OutboxOptions): Promise<Outbox> {
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (!Number.isInteger(maxEvents) || maxEvents < 2) {
    throw new AppError('config', `outbox maxEvents must be an integer of at least 2, got ${maxEvents}`);
  }
  const logger = options.logger ?? silentLogger;
  const path = join(options.dir, OUTBOX_FILE);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const text = await readFileIfExists(path);
  const loaded = text === undefined ? { state: createEmptyState() } : parseJournal(text, path);
  if (loaded.tornLine !== undefined) {
    logger.warn('outbox journal ends in a torn write (crash while writing); ignored it', {
      path,
      line: loaded.tornLine,
    });
  }
  const state = loaded.state;
  const live = (): number => state.queue.length + (state.inFlight === undefined ? 0 : 1);
  let dropped = 0;
  let overflowing = state.pendingDropped > 0;

  const discarded = (count: number): void => {
    dropped += count;
    if (overflowing) return;
    overflowing = true;
    const oldest = state.queue[0]?.event.observedAt;
    logger.warn('outbox full: discarding the oldest queued events until the coordinator catches up', {
      maxEvents,
      oldestQueuedAgeMs: oldest === undefined ? undefined : options.clock.now() - oldest,
    });
  };
  // A smaller maxEvents than last time: trim before the snapshot is written.
  const excess = Math.min(live() - maxEvents, state.queue.length);
  if (excess > 0) {
    state.queue.splice(0, excess);
    state.pendingDropped += excess;
    discarded(excess);
  }
  const journal = await openJournal(path, state);
  if (live() > 0) {
    logger.info('outbox reopened', { queued: state.queue.length, inFlight: state.inFlight?.seq });
  }

  let closed = false;
  let closing: Promise<void> | undefined;
  const queue = createSerialQueue();
  /** Runs operations one at a time, in call order; a failed one does not block the next. */
  const serial = <T>(operation: () => Promise<T>): Promise<T> =>
    queue.run(async () => {
      if (closed) throw new AppError('internal', `outbox ${path} is closed`);
      return operation();
    });

  const commit = async (record: JournalRecord): Promise<void> => {
    await journal.append(record);
    const problem = applyRecord(state, record);
    if (problem !== undefined) throw new AppError('internal', `outbox ${path}: ${problem}`);
    const dead = journal.records() - state.queue.length;
    if (dead >= Math.max(COMPACT_MIN_DEAD_LINES, state.queue.length)) {
      await journal.replace(state).catch((error: unknown) => {
        logger.warn('outbox compaction failed; the journal keeps growing until it succeeds', { path, error });
      });
    }
  };

  const settle = (seq: number, op: 'ack' | 'abandon'): Promise<boolean> =>
    serial(async () => {
      if (state.inFlight?.seq !== seq) return false;
      await commit({ op, seq });
      if (op === 'abandon') logger.warn('outbox gave up an event; the next one reports it dropped', { seq });
      return true;
    });

  return {
    enqueue: (event) => {
      const parsed = QueuedEventSchema.safeParse(event);
      if (!parsed.success) {
        return Promise.reject(
          new ProtocolError(`outbox refuses an invalid event: ${z.prettifyError(parsed.error)}`),
        );
      }
      return serial(async () => {
        const drop = live() >= maxEvents ? 1 : 0;
        await commit({ op: 'add', id: state.nextId, event: parsed.data, ...(drop > 0 ? { drop } : {}) });
        if (drop > 0) discarded(drop);
      });
    },
    next: () =>
      serial(async () => {
        if (state.inFlight !== undefined) return { ...state.inFlight };
        const head = state.queue[0];
        if (head === undefined) return undefined;
        const seq = state.lastSeq + 1;
        const droppedBefore = state.pendingDropped;
        const token = await options.sign({ ...head.event, seq, dropped: droppedBefore });
        await commit({ op: 'send', id: head.id, seq, dropped: droppedBefore, token });
        if (droppedBefore > 0) {
          overflowing = false;
          logger.info('outbox delivering again after discarding events', { seq, dropped: droppedBefore });
        }
        return { seq, token };
      }),
    ack: (seq) => settle(seq, 'ack'),
    abandon: (seq) => settle(seq, 'abandon'),
    get size() {
      return live();
    },
    get dropped() {
      return dropped;
    },
    close: () => {
      closing ??= serial(async () => {
        closed = true;
        await journal.close();
      });
      return closing;
    },
  };
}
