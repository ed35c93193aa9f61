import type { CryptoKey } from 'jose';
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import type { NutFsdAbility } from '../bridge/bridge-role.js';
import type { AgentConfig, HostConfig } from '../config.js';
import type { ExecutedOrderStore } from '../executed-orders.js';
import type { ShutdownLatch } from '../fallback/shutdown-latch.js';
import { createNutClient, type NutClient, type NutClientOptions } from '../nut/client.js';
import { formatTarget } from '../nut/connection.js';
import { type RunCommand, runCommand } from '../shutdown-runner.js';
import { sendMagicPacket, type WakeTarget } from '../wake/send-magic-packet.js';
import { createOrderDecider } from './decide-order.js';
import { createOrderPipeline, type OrderPipeline } from './order-pipeline.js';
import { checkProgram, type ProgramCheck } from './program-check.js';
import type { ShutdownAbility } from './shutdown-plan.js';

/** The world an agent's orders act on; every part has a real default. */
export interface OrderSeams {
  readonly run?: RunCommand;
  /** Drill check of argv[0]; defaults to this process's PATH and working folder. */
  readonly checkProgram?: (program: string) => Promise<ProgramCheck>;
  readonly sendWake?: (target: WakeTarget) => Promise<void>;
  readonly connectNut?: (options: NutClientOptions) => Promise<NutClient>;
  /** Bounds each upsd step of a power-off, ms. Default 5 s. */
  readonly nutTimeoutMs?: number;
}

export interface AgentOrdersOptions extends OrderSeams {
  readonly config: Pick<AgentConfig, 'host' | 'wake' | 'ups' | 'clockTolerance'>;
  readonly agentId: string;
  readonly coordinatorKey: CryptoKey;
  readonly coordinatorKeys?: () => readonly CryptoKey[];
  readonly executed: ExecutedOrderStore;
  readonly send: (message: AgentMessage) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** When this machine booted (ms): real shutdown orders issued before then are refused as stale. */
  readonly bootTime?: number;
  /** The NUT bridge, when this agent has a `bridge:` section. */
  readonly nutFsd?: NutFsdAbility;
  /** Shared with the host's own shutdown path: a shutdown runs once, whoever decides it. */
  readonly latch?: ShutdownLatch;
  /** For drills: what the host reads from upsd itself (`host.upsd:`). */
  readonly ownReading?: () => string;
}

export function createShutdownAbility(
  host: HostConfig,
  seams: OrderSeams & Pick<AgentOrdersOptions, 'latch' | 'ownReading'>,
  logger: Logger,
): ShutdownAbility {
  const check =
    seams.checkProgram ??
    ((program: string) => checkProgram(program, { searchPath: process.env.PATH, cwd: process.cwd() }));
  return {
    config: host,
    run: seams.run ?? runCommand,
    checkProgram: check,
    logger,
    ...(seams.latch === undefined ? {} : { latch: seams.latch }),
    ...(seams.ownReading === undefined ? {} : { ownReading: seams.ownReading }),
  };
}

/** The order pipeline of an agent, able to do what its config allows: shutdown, wake, UPS power-off. */
export function createAgentOrders(options: AgentOrdersOptions): OrderPipeline {
  const { config, logger } = options;
  const decide = createOrderDecider({
    shutdown: config.host === undefined ? undefined : createShutdownAbility(config.host, options, logger),
    wake:
      config.wake === undefined
        ? undefined
        : { config: config.wake, send: options.sendWake ?? sendMagicPacket, logger },
    powerOff:
      config.ups.length === 0
        ? undefined
        : {
            ups: config.ups,
            connect: options.connectNut ?? createNutClient,
            timeoutMs: options.nutTimeoutMs ?? 5_000,
            logger,
          },
    nutFsd: options.nutFsd,
  });
  return createOrderPipeline({
    agentId: options.agentId,
    coordinatorKey: options.coordinatorKey,
    ...(options.coordinatorKeys === undefined ? {} : { coordinatorKeys: options.coordinatorKeys }),
    clockToleranceMs: config.clockTolerance,
    executed: options.executed,
    decide,
    send: options.send,
    clock: options.clock,
    logger,
    ...(options.bootTime === undefined ? {} : { bootTime: options.bootTime }),
  });
}

function describeHost(host: HostConfig): string {
  const hooks = host.before.map((hook) => hook.name);
  const before = hooks.length === 0 ? '' : `before hooks ${hooks.join(', ')}, then `;
  return `host role, ${before}shutdown ${host.shutdown.join(' ')}`;
}

/** What this agent will do, for its start-up log line. */
export function describeAbilities(config: Pick<AgentConfig, 'host' | 'wake' | 'ups'>): string[] {
  const powerOff = config.ups.filter((ups) => ups.powerOff !== undefined).map((ups) => ups.id);
  const watched = config.ups.map((u) => `${u.id} (${u.name}@${formatTarget(u.upsd)})`);
  return [
    config.host === undefined ? undefined : describeHost(config.host),
    watched.length === 0 ? undefined : `watcher of ${watched.join(', ')}`,
    config.wake === undefined ? undefined : `wakes hosts through ${config.wake.allowed.join(', ')}`,
    powerOff.length === 0 ? undefined : `may power off ${powerOff.join(', ')}`,
  ].filter((part) => part !== undefined);
}
