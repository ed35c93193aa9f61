import type WebSocket from 'ws';
import { assertNever } from '../../shared/src/assert-never.js';
import type { BackoffOptions } from '../../shared/src/backoff.js';
import { type Clock, systemClock } from '../../shared/src/clock.js';
import { formatDuration } from '../../shared/src/duration.js';
import { AppError } from '../../shared/src/errors.js';
import type { Logger } from '../../shared/src/logger.js';
import { type CoordinatorMessage, PROTOCOL_VERSION } from '../../shared/src/protocol.js';
import type { AgentConfig } from './config.js';
import { openExecutedOrders } from './executed-orders.js';
import { createHostRole } from './host-role.js';
import { createLink, type Link, toAgentSocketUrl } from './link.js';
import type { RunCommand } from './shutdown-runner.js';
import { loadEnrollment, statePath } from './state-dir.js';

export interface RunAgentOptions {
  readonly config: AgentConfig;
  /** Defaults to `config.stateDir`. */
  readonly stateDir?: string;
  readonly clock?: Clock;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly run?: RunCommand;
  readonly WebSocketImpl?: typeof WebSocket;
  readonly backoff?: BackoffOptions;
  readonly idleTimeoutMs?: number;
}

export interface RunningAgent {
  readonly link: Link;
  /**
   * Resolves with a reason when the agent gave up by itself (the coordinator revoked it or speaks
   * another protocol version): only an admin can fix that, so the process should exit non-zero.
   */
  readonly finished: Promise<string>;
  /** Closes the link and waits for pending state writes. A running shutdown command is left alone. */
  stop(): Promise<void>;
}

/** Loads the enrollment, connects to the coordinator and serves the host role until stopped. */
export async function runAgent(options: RunAgentOptions): Promise<RunningAgent> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const stateDir = options.stateDir ?? config.stateDir;
  const host = config.host;
  if (host === undefined) {
    throw new AppError('config', `${config.source}: no host: section, so this agent has no role to run`);
  }
  const { identity, keyPair, coordinatorKey } = await loadEnrollment(stateDir);
  if (host.name !== undefined && host.name !== identity.name) {
    logger.warn(`config says host name ${host.name}, but this state dir is enrolled as ${identity.name}`);
  }
  if (identity.coordinatorUrl !== config.coordinator) {
    logger.warn(`enrolled with ${identity.coordinatorUrl}, connecting to ${config.coordinator} per config`);
  }
  const executed = await openExecutedOrders(statePath(stateDir, 'executedOrders'), { clock });

  const socketUrl = toAgentSocketUrl(config.coordinator);
  let link: Link | undefined;
  let stopping = false;
  let giveUp: (reason: string) => void = () => {};
  const finished = new Promise<string>((resolve) => {
    giveUp = resolve;
  });
  const role = createHostRole({
    identity,
    coordinatorKey,
    executed,
    config: host,
    ...(options.run === undefined ? {} : { run: options.run }),
    send: (message) =>
      link === undefined ? Promise.reject(new Error('link not started')) : link.send(message),
    clock,
    logger,
  });

  const onMessage = (message: CoordinatorMessage): void => {
    switch (message.type) {
      case 'welcome': {
        const skew = message.serverTime - clock.now();
        const fields = { agentId: message.agentId, skewMs: skew };
        logger.info(`connected to ${socketUrl} as ${message.name}`, fields);
        if (message.agentId !== identity.agentId) {
          logger.error(`the coordinator welcomed agent ${message.agentId}, but this is ${identity.agentId}`);
        }
        if (message.protocol !== PROTOCOL_VERSION) {
          logger.warn(`the coordinator speaks protocol ${message.protocol}, this agent ${PROTOCOL_VERSION}`);
        }
        if (Math.abs(skew) > host.clockTolerance) {
          logger.warn(
            `this clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'behind' : 'ahead of'} the coordinator's, ` +
              `beyond the ${formatDuration(host.clockTolerance)} tolerance: orders may be refused; check NTP`,
          );
        }
        return;
      }
      case 'order':
        role.handleOrder(message.token).catch(() => undefined);
        return;
      case 'event-ack':
        logger.debug('coordinator stored event', { seq: message.seq });
        return;
      case 'error':
        logger.warn(`the coordinator reported ${message.code}: ${message.message}`);
        return;
      default:
        assertNever(message, 'coordinator message');
    }
  };

  logger.info(`starting as ${identity.name}: host role, shutdown ${host.shutdown.join(' ')}`, {
    agentId: identity.agentId,
    stateDir,
  });
  link = createLink({
    url: config.coordinator,
    agentId: identity.agentId,
    keyPair,
    onMessage,
    clock,
    logger,
    roles: ['host'],
    onState: (state) => {
      if (state === 'stopped' && !stopping)
        giveUp('the coordinator closed the connection for good (see above)');
    },
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.WebSocketImpl === undefined ? {} : { WebSocketImpl: options.WebSocketImpl }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
  });
  const started = link;
  return {
    link: started,
    finished,
    async stop() {
      stopping = true;
      await started.close();
      await executed.flush();
      logger.info('agent stopped');
    },
  };
}
