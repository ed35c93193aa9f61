/**
 * Notifications, the part both runtimes share: `publish` renders facts and writes them to the
 * outbox in the caller's transaction (inside a savepoint: a failure there is logged and never undoes
 * the caller's decision), and `deliverDue` is one delivery step — claim the due rows, send them
 * (channels in parallel, each channel's rows in order, every request bounded by a timeout), record
 * each outcome, and return when the next row falls due. No timers here: the Node coordinator calls
 * the step from its loop (notifier.ts), the edge from its Durable Object's alarm (edge/). A dead chat
 * service only delays its own messages (exponential backoff with jitter, then `failed`, kept and
 * visible); nothing here throws into the engine or waits for it.
 */
import { type BackoffOptions, nextDelay } from '../../../shared/src/backoff.js';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage, NotFoundError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { Db } from '../db/client.js';
import {
  type ChannelRow,
  claimDue,
  deferChannel,
  findChannel,
  listChannels,
  markFailed,
  markRetry,
  markSent,
  nextDueAt,
  type OutboxRow,
  pruneSent,
  recordChannelFailure,
  recordChannelSuccess,
  resumeChannel,
} from '../db/queries/notifications.js';
import { type ChannelConfig, type ChannelType, parseChannelConfig } from './channels.js';
import type { StoredMessage } from './collapse.js';
import type { NotificationFact } from './facts.js';
import { formatRequest } from './formatters.js';
import { type ChannelHealth, readChannelHealth } from './health.js';
import { describeTarget, FAILING_AFTER, scrub, secretsOf } from './masking.js';
import { toMessage } from './messages.js';
import { enqueue } from './outbox.js';
import type { Outcome } from './responses.js';
import { sendRequest } from './send.js';
import { readStoredMessage } from './stored-message.js';

/** 5 s doubling to 15 min: twelve attempts span about an hour and a half. */
export const NOTIFY_BACKOFF: BackoffOptions = { initial: 5_000, max: 15 * 60_000, factor: 2 };

export type DeliveryResult = Outcome['result'];

export interface DeliveryOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetch?: typeof globalThis.fetch;
  /** Attempts per message before it is marked failed. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
  /** Per request, answer body included. */
  readonly timeoutMs?: number;
  readonly collapseWindowMs?: number;
  /** Rows claimed per round. */
  readonly batchSize?: number;
  /** Sent rows are deleted after this long (failed ones stay). */
  readonly keepSentMs?: number;
  readonly random?: () => number;
  /** Every delivery outcome, for metrics. */
  readonly onOutcome?: (channel: string, outcome: DeliveryResult, type: ChannelType) => void;
}

export interface TestResult {
  readonly ok: boolean;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
  readonly error?: string;
}

/** After the database failed under a step, the next one is due this much later. */
const ERROR_RETRY_MS = 5_000;
/** A Retry-After is honoured within these bounds. */
const MIN_RETRY_AFTER_MS = 1_000;
const MAX_RETRY_AFTER_MS = 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

export function createDelivery(options: DeliveryOptions) {
  const { db, clock, logger } = options;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const maxAttempts = options.maxAttempts ?? 12;
  const backoff = options.backoff ?? NOTIFY_BACKOFF;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const batchSize = options.batchSize ?? 50;
  const keepSentMs = options.keepSentMs ?? 7 * 86_400_000;
  const random = options.random ?? Math.random;
  const windowMs = options.collapseWindowMs;
  let lastPrune = Number.NEGATIVE_INFINITY;
  // Made here, not at import: workerd refuses an AbortController in a module's global scope.
  const never = new AbortController().signal;

  /** One HTTP request; undefined when `stop` cut it short (the row stays due, sent later). */
  function send(config: ChannelConfig, message: StoredMessage, count: number, stop: AbortSignal) {
    const request = formatRequest(config, message, count, clock.now());
    return sendRequest(fetchImpl, config.type, request, { timeoutMs, stop, clock });
  }

  function report(channel: ChannelRow, outcome: DeliveryResult): void {
    try {
      options.onOutcome?.(channel.name, outcome, channel.type as ChannelType);
    } catch (error) {
      logger.warn('notification outcome hook failed', { error: errorMessage(error) });
    }
  }

  async function failure(channel: ChannelRow, error: string, now: Date): Promise<void> {
    const failures = await recordChannelFailure(db, channel.id, error, now);
    if (failures === FAILING_AFTER)
      logger.error('notification channel failing', { channel: channel.name, failures, error });
  }

  /**
   * Sends one row; true when the channel is not tried again in this round (`rest`: its other rows of
   * this round, which then wait with it).
   */
  async function deliver(
    channel: ChannelRow,
    config: ChannelConfig,
    row: OutboxRow,
    message: StoredMessage,
    rest: readonly number[],
    stop: AbortSignal,
  ): Promise<boolean> {
    const sent = await send(config, message, row.count, stop);
    if (sent === undefined) return true;
    const { outcome } = sent;
    const now = clock.now();
    const attempt = row.attempts + 1;
    const fields = {
      channel: channel.name,
      target: describeTarget(config),
      kind: row.kind,
      id: row.id,
      attempt,
    };
    if (outcome.result === 'sent') {
      await markSent(db, row.id, new Date(now));
      if (channel.consecutiveFailures > 0) await resumeChannel(db, channel.id, new Date(now));
      await recordChannelSuccess(db, channel.id, new Date(now));
      logger.info('notification sent', fields);
      report(channel, 'sent');
      return false;
    }
    const error = scrub(outcome.error, secretsOf(config));
    if (outcome.result === 'failed' || attempt >= maxAttempts) {
      const reason = outcome.result === 'failed' ? error : `gave up after ${attempt} attempts: ${error}`;
      await markFailed(db, row.id, reason);
      await failure(channel, reason, new Date(now));
      logger.warn('notification failed for good', { ...fields, error: reason });
      report(channel, 'failed');
      return false;
    }
    const delay =
      outcome.afterMs === undefined
        ? nextDelay(attempt - 1, random, backoff)
        : Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, outcome.afterMs));
    const dueAt = new Date(now + delay);
    await markRetry(db, row.id, dueAt, error);
    await deferChannel(db, channel.id, dueAt, rest);
    await failure(channel, error, new Date(now));
    logger.warn('notification not delivered: will retry', {
      ...fields,
      error,
      retryIn: `${Math.round(delay / 1000)}s`,
    });
    report(channel, 'retry');
    return true;
  }

  async function deliverChannel(
    channel: ChannelRow | undefined,
    rows: readonly OutboxRow[],
    stop: AbortSignal,
  ): Promise<void> {
    for (const [index, row] of rows.entries()) {
      if (stop.aborted) return;
      if (channel === undefined || !channel.enabled) {
        await markFailed(db, row.id, 'channel disabled before delivery', { attempted: false });
        continue;
      }
      let config: ChannelConfig;
      let message: StoredMessage;
      try {
        config = parseChannelConfig(channel.name, channel.type, channel.config);
        message = readStoredMessage(row.message, row.id);
      } catch (error) {
        // Only a hand-edited row (or one another version wrote) gets here; never loop on it.
        await markFailed(db, row.id, errorMessage(error), { attempted: false });
        continue;
      }
      const rest = rows.slice(index + 1).map((later) => later.id);
      if (await deliver(channel, config, row, message, rest, stop)) return;
    }
  }

  async function round(rows: readonly OutboxRow[], stop: AbortSignal): Promise<void> {
    const byId = new Map((await listChannels(db)).map((channel) => [channel.id, channel]));
    const groups = new Map<string, OutboxRow[]>();
    for (const row of rows) groups.set(row.channelId, [...(groups.get(row.channelId) ?? []), row]);
    const results = await Promise.allSettled(
      [...groups].map(([channelId, group]) => deliverChannel(byId.get(channelId), group, stop)),
    );
    for (const result of results)
      if (result.status === 'rejected')
        logger.error('notification delivery failed', { error: errorMessage(result.reason) });
  }

  return {
    /**
     * Renders the facts and queues them for every matching channel, in the caller's transaction;
     * deliver once it has committed. Returns the rows written; never throws.
     */
    async publish(tx: Db, facts: readonly NotificationFact[], now: number): Promise<number> {
      if (facts.length === 0) return 0;
      try {
        const messages = facts.map(toMessage);
        return await tx.transaction((savepoint) =>
          enqueue(savepoint, messages, now, windowMs === undefined ? {} : { windowMs }),
        );
      } catch (error) {
        logger.error('notifications could not be queued', {
          kinds: facts.map((fact) => fact.kind).join(','),
          error: errorMessage(error),
        });
        return 0;
      }
    },

    /**
     * One delivery step: sends every row due now (claimed, so two steps never send a row twice),
     * prunes old sent rows now and then, and resolves with when the next row falls due (ms since
     * the epoch; undefined: nothing waits). `stop` cuts requests in flight short; their rows stay
     * due. Never throws: when the database fails, the next step is due in 5 s.
     */
    async deliverDue(stop: AbortSignal = never): Promise<number | undefined> {
      try {
        for (;;) {
          const rows = await claimDue(db, clock.now(), batchSize, timeoutMs + 30_000);
          if (rows.length === 0 || stop.aborted) break;
          await round(rows, stop);
        }
        const now = clock.now();
        if (now - lastPrune >= PRUNE_EVERY_MS) {
          lastPrune = now;
          await pruneSent(db, new Date(now - keepSentMs));
        }
        return (await nextDueAt(db))?.getTime();
      } catch (error) {
        logger.error('notification delivery failed: retrying in 5 s', { error: errorMessage(error) });
        return clock.now() + ERROR_RETRY_MS;
      }
    },

    /** Sends a test message to the channel now (even a disabled one); records nothing in the outbox. */
    async testChannel(name: string, stop: AbortSignal = never): Promise<TestResult> {
      const row = await findChannel(db, name);
      if (row === undefined) throw new NotFoundError(`no notification channel "${name}"`);
      const config = parseChannelConfig(row.name, row.type, row.config);
      const message = toMessage({ kind: 'test', at: clock.now(), channel: name });
      const sent = await send(config, message, 1, stop);
      if (sent === undefined) return { ok: false, error: 'the coordinator is stopping' };
      const status = sent.status === undefined ? {} : { status: sent.status };
      if (sent.outcome.result === 'sent') return { ok: true, ...status };
      const error = scrub(sent.outcome.error, secretsOf(config));
      logger.info('notification channel test failed', {
        channel: name,
        target: describeTarget(config),
        error,
      });
      return { ok: false, ...status, error };
    },

    /** Every channel's delivery health and outbox counts (status, metrics). */
    health(): Promise<ChannelHealth[]> {
      return readChannelHealth(db);
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
