import type { CryptoKey } from 'jose';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage, OrderClaims } from '../../../shared/src/protocol.js';
import { SignatureError } from '../../../shared/src/signing.js';
import { type VerifiedOrder, verifyOrder } from '../../../shared/src/tokens.js';
import type { ExecutedOrderStore } from '../executed-orders.js';
import { peekOrderId, shortId } from '../order-id.js';
import { verifyWithAny } from '../pinned-key.js';
import type { OrderDecision, OrderPlan, OrderReport, ProgressFields, ResultFields } from './order-plan.js';

/** The longest an order waits for its "accepted" ack to be written before it is carried out. */
export const ACK_FLUSH_WAIT_MS = 1_000;

const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export interface OrderPipelineOptions {
  /** This agent's id: the audience every order must carry. */
  readonly agentId: string;
  /** The pinned coordinator public key. */
  readonly coordinatorKey: CryptoKey;
  /** When given, the keys to try instead (the pinned key, and the previous one just after a rotation). */
  readonly coordinatorKeys?: () => readonly CryptoKey[];
  /** ms */
  readonly clockToleranceMs: number;
  readonly executed: ExecutedOrderStore;
  /** Whether this agent can carry out a verified order, and how. Pure. */
  readonly decide: (order: VerifiedOrder) => OrderDecision;
  readonly send: (message: AgentMessage) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * When this machine booted (ms). A real shutdown order issued before then is stale: the host was
   * already off (e.g. it went down by its fallback rule), and obeying it after power returned would
   * take a freshly restored host down again.
   */
  readonly bootTime?: number;
}

export interface OrderPipeline {
  /** Verifies a signed order and carries it out at most once per order id. Never rejects. */
  handleOrder(token: string): Promise<void>;
  /** Resolves when every order accepted so far has been carried out. */
  idle(): Promise<void>;
}

const MAX_REASON = 512;
const MAX_OUTPUT = 4096;
const MAX_STEP = 64;

/** A result frame within the protocol's limits (the tail of the output, the head of the error). */
function resultFrame(orderId: string, fields: ResultFields): AgentMessage {
  const { output, error, ...rest } = fields;
  return {
    type: 'result',
    orderId,
    ...rest,
    ...(output === undefined ? {} : { output: output.slice(-MAX_OUTPUT) }),
    ...(error === undefined ? {} : { error: error.slice(0, MAX_REASON) }),
  };
}

/** A progress frame within the protocol's limits. */
function progressFrame(orderId: string, fields: ProgressFields): AgentMessage {
  const { output, step, ...rest } = fields;
  return {
    type: 'progress',
    orderId,
    step: step.slice(0, MAX_STEP),
    ...rest,
    ...(output === undefined ? {} : { output: output.slice(-MAX_OUTPUT) }),
  };
}

/**
 * The one path of every order kind: verify (pinned key, audience, expiry, clock tolerance) → replay
 * check → decide whether this agent can do it → record durably → ack → act → result. Orders of one
 * kind run one after another; a slow shutdown does not hold up a wake or a UPS power-off. The ack
 * and every frame sent while acting are not waited for, so a lost link never holds up the action.
 */
export function createOrderPipeline(options: OrderPipelineOptions): OrderPipeline {
  const { logger, executed } = options;
  const queues = new Map<OrderClaims['kind'], Promise<void>>();

  /** A frame that cannot go out (link down) is logged; it never stops or repeats the action. */
  const trySend = async (message: AgentMessage): Promise<void> => {
    try {
      await options.send(message);
    } catch (error) {
      logger.warn(`could not send ${message.type} to the coordinator: ${errorMessage(error)}`);
    }
  };

  /**
   * Hands a frame to the link without waiting for it: the link writes frames in the order they are
   * handed over, and an action must never wait on a coordinator that may be gone.
   */
  const post = (message: AgentMessage): void => {
    void trySend(message);
  };

  const reject = (orderId: string, reason: string): Promise<void> =>
    trySend({ type: 'ack', orderId, status: 'rejected', reason: reason.slice(0, MAX_REASON) });

  const verify = async (token: string): Promise<VerifiedOrder | undefined> => {
    try {
      return await verifyWithAny(options.coordinatorKeys?.() ?? [options.coordinatorKey], (key) =>
        verifyOrder(token, key, {
          agentId: options.agentId,
          now: options.clock.now(),
          clockToleranceMs: options.clockToleranceMs,
        }),
      );
    } catch (error) {
      const reason = error instanceof SignatureError ? error.reason : 'malformed';
      const orderId = peekOrderId(token);
      logger.warn(`order refused: ${reason}`, { orderId, detail: errorMessage(error) });
      await reject(orderId, reason);
      return undefined;
    }
  };

  const duplicate = async (orderId: string): Promise<void> => {
    const seen = executed.get(orderId);
    logger.info(`order ${shortId(orderId)} is a duplicate: already handled, nothing to do`, {
      orderId,
      outcome: seen?.outcome,
      at: seen === undefined ? undefined : new Date(seen.at).toISOString(),
    });
    await trySend({ type: 'ack', orderId, status: 'duplicate' });
  };

  const decide = (order: VerifiedOrder): OrderDecision => {
    try {
      return options.decide(order);
    } catch (error) {
      return { ok: false, reason: `could not plan the order: ${errorMessage(error)}` };
    }
  };

  /** Records the id (written and fsynced); false when the write failed (the id is still held in memory). */
  const record = async (order: VerifiedOrder, plan: OrderPlan): Promise<boolean> => {
    const { orderId } = order;
    try {
      const at = options.clock.now();
      await executed.record(orderId, { at, expiresAt: order.expiresAt, outcome: plan.recordAs });
      return true;
    } catch (error) {
      logger.error(`could not record order ${shortId(orderId)} durably: ${errorMessage(error)}`, { orderId });
      return false;
    }
  };

  const complete = async (orderId: string, outcome: 'succeeded' | 'failed' | 'drill'): Promise<void> => {
    try {
      await executed.complete(orderId, outcome);
    } catch (error) {
      logger.warn(`could not record the outcome of order ${shortId(orderId)}: ${errorMessage(error)}`);
    }
  };

  const execute = async (order: VerifiedOrder, plan: OrderPlan): Promise<void> => {
    const { orderId } = order;
    if (executed.has(orderId)) return duplicate(orderId);
    if (!(await record(order, plan)) && plan.whenUnrecorded === 'refuse') {
      // Held in memory as handled: a copy in this process is a duplicate, not a second chance.
      await complete(orderId, 'failed');
      const reason = `could not record the order durably, and carrying out a ${order.claims.kind} order twice could do harm`;
      logger.error(`order ${shortId(orderId)} rejected: ${reason}`, { orderId });
      return reject(orderId, reason);
    }
    logger.info(`order ${shortId(orderId)} accepted: ${plan.summary}`, { orderId });
    // Give the ack a moment to reach the wire before acting (a poweroff may take this process down
    // at once), but never let a stuck link hold the shutdown back for more than that moment.
    await Promise.race([trySend({ type: 'ack', orderId, status: 'accepted' }), delay(ACK_FLUSH_WAIT_MS)]);
    const report: OrderReport = {
      result: (fields) => post(resultFrame(orderId, fields)),
      progress: (fields) => post(progressFrame(orderId, fields)),
    };
    const final = await plan
      .act(report)
      .catch((error: unknown) => ({ outcome: 'failed' as const, error: errorMessage(error) }));
    if (final.outcome !== plan.recordAs) await complete(orderId, final.outcome);
    await trySend(resultFrame(orderId, final));
  };

  const handle = async (token: string): Promise<void> => {
    const order = await verify(token);
    if (order === undefined) return;
    // Answer a copy of an order already recorded at once, even while the first is still being carried out.
    if (executed.has(order.orderId)) return duplicate(order.orderId);
    const bootTime = options.bootTime;
    if (
      bootTime !== undefined &&
      order.claims.kind === 'shutdown' &&
      !order.claims.drill &&
      order.issuedAt + options.clockToleranceMs < bootTime
    ) {
      const reason = `issued ${new Date(order.issuedAt).toISOString()}, before this host booted: it was already down`;
      logger.warn(`order ${shortId(order.orderId)} rejected: ${reason}`, { orderId: order.orderId });
      return reject(order.orderId, reason);
    }
    const decision = decide(order);
    if (!decision.ok) {
      logger.warn(`order ${shortId(order.orderId)} rejected: ${decision.reason}`, {
        orderId: order.orderId,
        kind: order.claims.kind,
      });
      return reject(order.orderId, decision.reason);
    }
    const kind = order.claims.kind;
    const task = (queues.get(kind) ?? Promise.resolve()).then(() => execute(order, decision.plan));
    queues.set(
      kind,
      task.catch(() => undefined),
    );
    return task;
  };

  return {
    handleOrder: (token) =>
      handle(token).catch((error: unknown) => {
        logger.error(`handling an order failed: ${errorMessage(error)}`);
      }),
    idle: async () => {
      await Promise.all(queues.values());
    },
  };
}
