import type { CryptoKey } from 'jose';
import type { Clock } from '../../shared/src/clock.js';
import { formatDuration } from '../../shared/src/duration.js';
import { errorMessage } from '../../shared/src/errors.js';
import type { Logger } from '../../shared/src/logger.js';
import type { AgentMessage } from '../../shared/src/protocol.js';
import { SignatureError } from '../../shared/src/signing.js';
import { type VerifiedOrder, verifyOrder } from '../../shared/src/tokens.js';
import type { HostConfig } from './config.js';
import type { ExecutedOrderStore } from './executed-orders.js';
import { peekOrderId, shortId } from './order-id.js';
import { type RunCommand, runCommand } from './shutdown-runner.js';
import type { AgentIdentity } from './state-dir.js';

export interface HostRoleOptions {
  readonly identity: AgentIdentity;
  /** The pinned coordinator public key. */
  readonly coordinatorKey: CryptoKey;
  readonly executed: ExecutedOrderStore;
  readonly config: HostConfig;
  readonly run?: RunCommand;
  readonly send: (message: AgentMessage) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface HostRole {
  /** Verifies a signed order and, at most once per order id, runs this host's shutdown. Never rejects. */
  handleOrder(token: string): Promise<void>;
  /** Resolves when every order received so far has been handled. */
  idle(): Promise<void>;
}

export function createHostRole(options: HostRoleOptions): HostRole {
  const { logger, executed, config } = options;
  const run = options.run ?? runCommand;
  let queue: Promise<void> = Promise.resolve();

  /** A frame that cannot go out (link down) is logged; it never stops or repeats the shutdown. */
  const trySend = async (message: AgentMessage): Promise<void> => {
    try {
      await options.send(message);
    } catch (error) {
      logger.warn(`could not send ${message.type} to the coordinator: ${errorMessage(error)}`);
    }
  };

  const verify = async (token: string): Promise<VerifiedOrder | undefined> => {
    try {
      return await verifyOrder(token, options.coordinatorKey, {
        agentId: options.identity.agentId,
        now: options.clock.now(),
        clockToleranceMs: config.clockTolerance,
      });
    } catch (error) {
      const reason = error instanceof SignatureError ? error.reason : 'malformed';
      const orderId = peekOrderId(token);
      logger.warn(`order refused: ${reason}`, { orderId, detail: errorMessage(error) });
      await trySend({ type: 'ack', orderId, status: 'rejected', reason });
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

  const execute = async (order: VerifiedOrder): Promise<void> => {
    const { orderId, claims } = order;
    if (executed.has(orderId)) return duplicate(orderId);
    const drill = claims.drill;
    try {
      await executed.record(orderId, {
        at: options.clock.now(),
        expiresAt: order.expiresAt,
        outcome: drill ? 'drill' : 'accepted',
      });
    } catch (error) {
      // The id is still remembered in memory; only a replay after a restart could go unnoticed.
      // Refusing here would leave the host to lose power uncleanly, which is worse.
      logger.error(`could not record order ${shortId(orderId)} durably: ${errorMessage(error)}`, { orderId });
    }
    const what = drill ? 'drill, not running anything' : `running ${config.shutdown.join(' ')}`;
    logger.info(`order ${shortId(orderId)} accepted: stage ${claims.stage}, run ${claims.runId}, ${what}`, {
      orderId,
    });
    await trySend({ type: 'ack', orderId, status: 'accepted' });
    if (drill) {
      await trySend({ type: 'result', orderId, outcome: 'drill' });
      return;
    }
    await trySend({ type: 'result', orderId, outcome: 'started' });
    const result = await run(config.shutdown, { timeoutMs: config.shutdownTimeout });
    const ok = result.exitCode === 0 && !result.timedOut && result.error === undefined;
    const how =
      result.error !== undefined
        ? `could not start: ${result.error}`
        : result.timedOut
          ? `was killed after ${formatDuration(config.shutdownTimeout)}`
          : result.exitCode !== null
            ? `exited ${result.exitCode}`
            : `was killed by ${result.signal}`;
    if (ok) logger.info(`shutdown command ${how}`, { orderId });
    else logger.error(`shutdown command ${how}`, { orderId, output: result.output.slice(-200) });
    try {
      await executed.complete(orderId, ok ? 'succeeded' : 'failed');
    } catch (error) {
      logger.warn(`could not record the outcome of order ${shortId(orderId)}: ${errorMessage(error)}`);
    }
    await trySend({
      type: 'result',
      orderId,
      outcome: ok ? 'succeeded' : 'failed',
      exitCode: result.exitCode,
      signal: result.signal,
      output: result.output,
      ...(result.error === undefined ? {} : { error: result.error.slice(0, 512) }),
    });
  };

  const handle = async (token: string): Promise<void> => {
    const order = await verify(token);
    if (order === undefined) return;
    // Answer a copy of an order already recorded at once, even while its shutdown is still running.
    if (executed.has(order.orderId)) return duplicate(order.orderId);
    const task = queue.then(() => execute(order));
    queue = task.catch(() => undefined);
    return task;
  };

  return {
    handleOrder: (token) =>
      handle(token).catch((error: unknown) => {
        logger.error(`handling an order failed: ${errorMessage(error)}`);
      }),
    idle: () => queue,
  };
}
