/**
 * Delivers the outbox over the agent's WebSocket, one event at a time and in order: send the
 * in-flight event, wait for the coordinator's `event-ack` with its sequence number, drop it from
 * the outbox, send the next. A lost connection or a missing ack re-sends the same signed event
 * (the coordinator recognises a duplicate); a refusal is logged and retried later, since only an
 * admin can fix it (e.g. the UPS is not in the policy yet).
 */
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import type { Outbox } from './outbox.js';

/** Refusals that re-sending the same signed event cannot fix. */
const PERMANENT = new Set(['signature', 'forbidden']);

export interface EventDeliveryOptions {
  readonly outbox: Outbox;
  readonly send: (message: AgentMessage) => Promise<void>;
  readonly logger: Logger;
  /** Re-send the in-flight event when no ack came within this long. */
  readonly ackTimeoutMs?: number;
  /** Wait this long after a refusal before trying again. */
  readonly retryAfterRefusalMs?: number;
}

export interface EventDelivery {
  /** The coordinator welcomed us: start (or resume) sending. */
  connected(): void;
  disconnected(): void;
  /** Something was enqueued. */
  kick(): void;
  acked(seq: number, duplicate: boolean): void;
  refused(seq: number, code: string, message: string): void;
  stop(): void;
}

export function createEventDelivery(options: EventDeliveryOptions): EventDelivery {
  const { outbox, logger } = options;
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  const retryMs = options.retryAfterRefusalMs ?? 30_000;
  let connected = false;
  let stopped = false;
  let pumping = false;
  /** Something asked for a pump while one was running: run once more afterwards. */
  let again = false;
  let inFlight: number | undefined;
  let timer: NodeJS.Timeout | undefined;

  const clearTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const later = (ms: number) => {
    clearTimer();
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = undefined;
      pump();
    }, ms);
    timer.unref();
  };

  function pump(): void {
    if (pumping) {
      again = true;
      return;
    }
    if (!connected || stopped || inFlight !== undefined) return;
    pumping = true;
    void (async () => {
      try {
        const next = await outbox.next();
        if (next === undefined || !connected || stopped) return;
        inFlight = next.seq;
        later(ackTimeoutMs);
        await options.send({ type: 'event', token: next.token });
      } catch (error) {
        logger.warn(`could not send a UPS event: ${errorMessage(error)}`);
        inFlight = undefined;
        clearTimer();
      } finally {
        pumping = false;
        if (again) {
          again = false;
          pump();
        }
      }
    })();
  }

  return {
    connected() {
      connected = true;
      inFlight = undefined;
      clearTimer();
      pump();
    },
    disconnected() {
      connected = false;
      inFlight = undefined;
      clearTimer();
    },
    kick: pump,
    acked(seq, duplicate) {
      if (seq !== inFlight) return;
      clearTimer();
      if (duplicate) logger.debug('the coordinator already had this event', { seq });
      void outbox
        .ack(seq)
        .catch((error: unknown) =>
          logger.error(`could not record the delivery of event ${seq}: ${errorMessage(error)}`),
        )
        .finally(() => {
          inFlight = undefined;
          pump();
        });
    },
    refused(seq, code, message) {
      if (seq !== inFlight) return;
      if (PERMANENT.has(code)) {
        // Re-sending the same signed event can never succeed (expired or unverifiable token, or this
        // agent is not the UPS's watcher in the policy). Drop it so the events behind it flow; the
        // next event tells the coordinator one was dropped, which explains the gap.
        logger.error(`the coordinator refused UPS event ${seq} for good (${code}): ${message}; dropping it`);
        clearTimer();
        void outbox
          .abandon(seq)
          .catch((error: unknown) => logger.error(`could not drop event ${seq}: ${errorMessage(error)}`))
          .finally(() => {
            inFlight = undefined;
            pump();
          });
        return;
      }
      logger.error(
        `the coordinator refused UPS event ${seq} (${code}): ${message}; retrying in ${retryMs / 1000}s`,
      );
      later(retryMs);
    },
    stop() {
      stopped = true;
      clearTimer();
    },
  };
}
