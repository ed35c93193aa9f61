import type { CryptoKey } from 'jose';
import { assertNever } from '../../../shared/src/assert-never.js';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage, OrderClaims } from '../../../shared/src/protocol.js';
import { SignatureError } from '../../../shared/src/signing.js';
import { type VerifiedOrder, verifyOrder } from '../../../shared/src/tokens.js';
import { type ExecutedOrder, type ExecutedOrderStore, isFinished } from '../executed-orders.js';
import { peekOrderId, shortId } from '../order-id.js';
import { verifyWithAny } from '../pinned-key.js';
import type { OrderDecision, OrderPlan, OrderReport, ProgressFields, ResultFields } from './order-plan.js';

/** The longest an order waits for its "accepted" ack to be written before it is carried out. */
export const ACK_FLUSH_WAIT_MS = 1_000;

/** Waits until `work` settles or `ms` have passed, whichever comes first; the timer never outlives it. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

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
   * take a freshly restored host down again. The same goes for a UPS power-off order. It also tells
   * an order interrupted by an agent restart (recorded after the boot: resumed) from one whose
   * shutdown did happen (recorded before it: a duplicate). Without it, nothing is resumed.
   */
  readonly bootTime?: number;
}

/** What a copy of an already recorded order gets: carried out again, or answered as a duplicate (and why). */
type CopyVerdict = { readonly resume: ExecutedOrder } | { readonly duplicate: string };

/**
 * A recorded order is carried out again only when the agent process died while carrying it out,
 * before its shutdown command: left `accepted`, recorded after this machine booted (a reboot means
 * the shutdown did happen), and not expired. The caller has checked that no task of this process
 * is carrying it out.
 */
function judgeCopy(
  seen: ExecutedOrder,
  order: VerifiedOrder,
  context: { readonly bootTime: number | undefined; readonly now: number },
): CopyVerdict {
  if (seen.outcome === 'started') {
    return { duplicate: 'its shutdown command had started before an agent restart: not repeating it' };
  }
  if (isFinished(seen.outcome)) return { duplicate: 'already handled' };
  if (context.bootTime === undefined) return { duplicate: 'never finished, but the boot time is unknown' };
  if (seen.at <= context.bootTime) {
    return { duplicate: 'recorded before this machine booted: the shutdown did happen' };
  }
  if (order.expiresAt <= context.now) return { duplicate: 'never finished, but the order has expired' };
  return { resume: seen };
}

/** Why an order issued before this machine booted must not be obeyed; undefined when it may be. */
function staleReason(
  order: VerifiedOrder,
  bootTime: number | undefined,
  toleranceMs: number,
): string | undefined {
  if (bootTime === undefined || order.issuedAt + toleranceMs >= bootTime) return undefined;
  const issued = `issued ${new Date(order.issuedAt).toISOString()}, before this host booted`;
  const { claims } = order;
  switch (claims.kind) {
    case 'shutdown':
      return claims.drill ? undefined : `${issued}: it was already down`;
    case 'ups-power-off':
      return `${issued}: it belongs to an outage this host has been down through, and the UPS may be powering restored hosts`;
    case 'wake':
    case 'nut-fsd':
      // The bridge is not the machine that goes down: a host it serves still needs its FSD.
      return undefined;
    default:
      return assertNever(claims, 'order kind');
  }
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
 * check → boot-time check → decide whether this agent can do it → record durably → ack → act →
 * result. A copy of an order is a duplicate, except a shutdown order whose previous agent process
 * died before its shutdown command (see judgeCopy): that one is carried out again. Orders of one
 * kind run one after another; a slow shutdown does not hold up a wake or a UPS power-off. The ack
 * and every frame sent while acting are not waited for, so a lost link never holds up the action.
 */
export function createOrderPipeline(options: OrderPipelineOptions): OrderPipeline {
  const { logger, executed } = options;
  const queues = new Map<OrderClaims['kind'], Promise<void>>();
  /** The ids queued or being carried out by this process. */
  const running = new Set<string>();

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

  const duplicate = async (orderId: string, why = 'already handled'): Promise<void> => {
    const seen = executed.get(orderId);
    logger.info(`order ${shortId(orderId)} is a duplicate (${why}): nothing to do`, {
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

  const complete = async (
    orderId: string,
    outcome: 'started' | 'succeeded' | 'failed' | 'drill',
  ): Promise<void> => {
    try {
      await executed.complete(orderId, outcome);
    } catch (error) {
      logger.warn(`could not record the outcome of order ${shortId(orderId)}: ${errorMessage(error)}`);
    }
  };

  /** Records a new order; false when it must not be carried out (a duplicate, or unrecorded and refused). */
  const admit = async (order: VerifiedOrder, plan: OrderPlan): Promise<boolean> => {
    const { orderId } = order;
    if (executed.has(orderId)) {
      await duplicate(orderId);
      return false;
    }
    if (!(await record(order, plan)) && plan.whenUnrecorded === 'refuse') {
      // Held in memory as handled: a copy in this process is a duplicate, not a second chance.
      await complete(orderId, 'failed');
      const reason = `could not record the order durably, and carrying out a ${order.claims.kind} order twice could do harm`;
      logger.error(`order ${shortId(orderId)} rejected: ${reason}`, { orderId });
      await reject(orderId, reason);
      return false;
    }
    logger.info(`order ${shortId(orderId)} accepted: ${plan.summary}`, { orderId });
    return true;
  };

  const logResume = (orderId: string, plan: OrderPlan, seen: ExecutedOrder): void => {
    logger.warn(
      `resuming order ${shortId(orderId)} interrupted by an agent restart before its shutdown command ran ` +
        `(accepted ${new Date(seen.at).toISOString()}, never finished): ${plan.summary}`,
      { orderId },
    );
  };

  const reportFor = (orderId: string): OrderReport => ({
    result: (fields) => {
      post(resultFrame(orderId, fields));
      // Right before the shutdown command runs; the plan waits for it (a local fsync, never the link).
      return fields.outcome === 'started' ? complete(orderId, 'started') : undefined;
    },
    progress: (fields) => post(progressFrame(orderId, fields)),
  });

  /** Admits a new order (or resumes an interrupted one), acks it, acts, and records and sends the result. */
  const execute = async (order: VerifiedOrder, plan: OrderPlan, resumed: ExecutedOrder | undefined) => {
    const { orderId } = order;
    if (resumed !== undefined) logResume(orderId, plan, resumed);
    else if (!(await admit(order, plan))) return;
    // Give the ack a moment to reach the wire before acting (a poweroff may take this process down
    // at once), but never let a stuck link hold the shutdown back for more than that moment.
    await settledWithin(trySend({ type: 'ack', orderId, status: 'accepted' }), ACK_FLUSH_WAIT_MS);
    const final = await plan
      .act(reportFor(orderId))
      .catch((error: unknown) => ({ outcome: 'failed' as const, error: errorMessage(error) }));
    if (executed.get(orderId)?.outcome !== final.outcome) await complete(orderId, final.outcome);
    await trySend(resultFrame(orderId, final));
  };

  /** Orders of one kind run one after another; the id counts as running from now until it is done. */
  const enqueue = (order: VerifiedOrder, plan: OrderPlan, resumed: ExecutedOrder | undefined) => {
    const { orderId } = order;
    const kind = order.claims.kind;
    running.add(orderId);
    const task = (queues.get(kind) ?? Promise.resolve())
      .then(() => execute(order, plan, resumed))
      .finally(() => running.delete(orderId));
    queues.set(
      kind,
      task.catch(() => undefined),
    );
    return task;
  };

  const judge = (order: VerifiedOrder): CopyVerdict | undefined => {
    if (running.has(order.orderId)) return { duplicate: 'it is being carried out now' };
    const seen = executed.get(order.orderId);
    if (seen === undefined) return undefined;
    return judgeCopy(seen, order, { bootTime: options.bootTime, now: options.clock.now() });
  };

  /** Everything from the copy check to the queue is synchronous: two copies cannot both get through. */
  const handle = async (token: string): Promise<void> => {
    const order = await verify(token);
    if (order === undefined) return;
    const { orderId } = order;
    // Answer a copy at once, even while the first is still being carried out.
    const copy = judge(order);
    if (copy !== undefined && 'duplicate' in copy) return duplicate(orderId, copy.duplicate);
    const stale = staleReason(order, options.bootTime, options.clockToleranceMs);
    if (stale !== undefined) {
      logger.warn(`order ${shortId(orderId)} rejected: ${stale}`, { orderId });
      return reject(orderId, stale);
    }
    const decision = decide(order);
    if (!decision.ok) {
      logger.warn(`order ${shortId(orderId)} rejected: ${decision.reason}`, {
        orderId,
        kind: order.claims.kind,
      });
      return reject(orderId, decision.reason);
    }
    if (copy !== undefined && decision.plan.whenInterrupted !== 'resume') {
      return duplicate(orderId, `never finished, but a ${order.claims.kind} order is not carried out twice`);
    }
    return enqueue(order, decision.plan, copy?.resume);
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
