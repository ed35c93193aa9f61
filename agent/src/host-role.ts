import type { CryptoKey } from 'jose';
import type { Clock } from '../../shared/src/clock.js';
import type { Logger } from '../../shared/src/logger.js';
import type { AgentMessage } from '../../shared/src/protocol.js';
import type { HostConfig } from './config.js';
import type { ExecutedOrderStore } from './executed-orders.js';
import { createAgentOrders } from './orders/agent-orders.js';
import type { OrderPipeline } from './orders/order-pipeline.js';
import type { ProgramCheck } from './orders/program-check.js';
import type { RunCommand } from './shutdown-runner.js';
import type { AgentIdentity } from './state-dir.js';

export interface HostRoleOptions {
  readonly identity: AgentIdentity;
  /** The pinned coordinator public key. */
  readonly coordinatorKey: CryptoKey;
  readonly executed: ExecutedOrderStore;
  readonly config: HostConfig;
  readonly run?: RunCommand;
  /** Drill check of argv[0]; defaults to this process's PATH. */
  readonly checkProgram?: (program: string) => Promise<ProgramCheck>;
  readonly send: (message: AgentMessage) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Verifies signed shutdown orders and, at most once per order id, runs this host's shutdown. */
export type HostRole = OrderPipeline;

/**
 * An agent that only shuts its host down: the order pipeline with the shutdown ability alone (wake
 * and UPS power-off orders are refused, saying why). `runAgent` builds the full pipeline from the config.
 */
export function createHostRole(options: HostRoleOptions): HostRole {
  const { config } = options;
  return createAgentOrders({
    config: { host: config, wake: undefined, ups: [], clockTolerance: config.clockTolerance },
    agentId: options.identity.agentId,
    coordinatorKey: options.coordinatorKey,
    executed: options.executed,
    send: options.send,
    clock: options.clock,
    logger: options.logger,
    ...(options.run === undefined ? {} : { run: options.run }),
    ...(options.checkProgram === undefined ? {} : { checkProgram: options.checkProgram }),
  });
}
