import { uptime } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { assertNever } from '../../shared/src/assert-never.js';
import type { BackoffOptions } from '../../shared/src/backoff.js';
import { type Clock, systemClock } from '../../shared/src/clock.js';
import { formatDuration } from '../../shared/src/duration.js';
import { AppError, errorMessage } from '../../shared/src/errors.js';
import type { Logger } from '../../shared/src/logger.js';
import { type AgentMessage, type CoordinatorMessage, PROTOCOL_VERSION } from '../../shared/src/protocol.js';
import { importPublicKey, keyId } from '../../shared/src/signing.js';
import { signUpsEvent, verifyRekey } from '../../shared/src/tokens.js';
import { writeFileAtomic } from './atomic-file.js';
import { type BridgeOffline, openBridgeOffline } from './bridge/bridge-offline.js';
import { type Bridge, startBridge } from './bridge/bridge-role.js';
import { type BridgeState, openBridgeState } from './bridge/bridge-state.js';
import type { AgentConfig } from './config.js';
import { openExecutedOrders } from './executed-orders.js';
import { type FailSafe, openFailSafe, type Schedule } from './fallback/fail-safe.js';
import { createOwnShutdown } from './fallback/fallback-shutdown.js';
import { type HostReadings, startHostReadings } from './fallback/host-readings.js';
import { describeOwnReading, type OwnReading } from './fallback/own-reading.js';
import { createShutdownLatch } from './fallback/shutdown-latch.js';
import { createLink, type Link, toAgentSocketUrl } from './link.js';
import type { NutSession, NutSessionOptions } from './nut/session.js';
import { createAgentOrders, createShutdownAbility, describeAbilities } from './orders/agent-orders.js';
import { createPinnedKeys } from './pinned-key.js';
import type { RunCommand } from './shutdown-runner.js';
import { loadEnrollment, statePath } from './state-dir.js';
import { createEventDelivery, type EventDelivery } from './watcher/delivery.js';
import { type Outbox, openOutbox } from './watcher/outbox.js';
import { startWatcher, type Watcher } from './watcher/watcher.js';

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
  /** Seam for tests of the watcher role. */
  readonly createNutSession?: (options: NutSessionOptions) => NutSession;
  /** When this machine booted (ms since the epoch); defaults to now minus the OS uptime. */
  readonly bootTime?: number;
  /** Seam for tests: the fail-safe's timers. */
  readonly schedule?: Schedule;
}

/** The host-reading frame: what this host reads itself, and problems with its host.upsd: list. */
function toReadingFrame(current: readonly OwnReading[], warnings: readonly string[]): AgentMessage {
  return {
    type: 'host-reading',
    readings: current.map((each) => ({
      ups: each.ups,
      status: each.fresh || each.dead ? [...(each.status ?? [])].slice(0, 32) : null,
      ...(each.fresh || each.dead ? {} : { reason: (each.reason ?? 'no answer yet').slice(0, 128) }),
      dead: each.dead,
      at: Math.round(each.lastGoodAt ?? each.at),
    })),
    warnings: warnings.slice(0, 16).map((warning) => warning.slice(0, 256)),
  };
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

/** Loads the enrollment, connects to the coordinator and serves its roles (host, watcher) until stopped. */
export async function runAgent(options: RunAgentOptions): Promise<RunningAgent> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const stateDir = options.stateDir ?? config.stateDir;
  const host = config.host;
  if (host === undefined && config.ups.length === 0 && config.bridge === undefined) {
    throw new AppError(
      'config',
      `${config.source}: no host: section, ups: list or bridge: section, so this agent has no role to run`,
    );
  }
  const { identity, keyPair, coordinatorKey } = await loadEnrollment(stateDir);
  if (host?.name !== undefined && host.name !== identity.name) {
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
  const send = (message: Parameters<Link['send']>[0]) =>
    link === undefined ? Promise.reject(new Error('link not started')) : link.send(message);
  // Every agent verifies every order; what it can carry out depends on its config.
  const bootTime = options.bootTime ?? clock.now() - uptime() * 1_000;
  const pinned = createPinnedKeys(coordinatorKey, clock);
  const coordinatorKeys = () => pinned.candidates();

  // The NUT bridge: serves NUT to the hosts that run no agent, from the coordinator's signed state.
  let bridgeState: BridgeState | undefined;
  let bridge: Bridge | undefined;
  // Without a valid lease the bridge applies its legacy hosts' offline rules itself (bridge.upsd:).
  let bridgeOffline: BridgeOffline | undefined;
  let bridgeReadings: HostReadings | undefined;
  if (config.bridge !== undefined) {
    const state = await openBridgeState({
      agentId: identity.agentId,
      coordinatorKeys,
      clockToleranceMs: config.clockTolerance,
      file: statePath(stateDir, 'bridge'),
      clock,
      logger,
    });
    bridgeState = state;
    const offline = await openBridgeOffline({
      state,
      coordinatorKeys,
      clockToleranceMs: config.clockTolerance,
      file: statePath(stateDir, 'bridgeOffline'),
      send,
      bootTime,
      clock,
      logger,
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
    });
    bridgeOffline = offline;
    bridge = await startBridge({
      config: config.bridge,
      state,
      clock,
      logger,
      onLeft: (name, how) => offline.left(name, how),
      ownReadings: () => offline.served(),
    });
    if ((config.bridge.upsd ?? []).length === 0)
      logger.warn(
        'bridge: no bridge.upsd: list, so when the coordinator is unreachable it applies only its hosts’ fallback rules, on the last state it was sent (their stage rules need a reading of its own)',
      );
    else {
      bridgeReadings = await startHostReadings({
        upsd: config.bridge.upsd ?? [],
        file: statePath(stateDir, 'bridgeReadings'),
        bootTime,
        clock,
        logger,
        who: 'the bridge',
        onReading: () => offline.ownReadings(bridgeReadings?.current() ?? {}),
        ...(options.createNutSession === undefined ? {} : { createSession: options.createNutSession }),
      });
    }
  }
  const latch = createShutdownLatch();
  let readings: HostReadings | undefined;
  const ownReading = (): string => {
    const current = Object.values(readings?.current() ?? {});
    if (host === undefined || (host.upsd ?? []).length === 0)
      return 'does not read its UPS itself (no host.upsd:): on its own it has only its briefing and fallback';
    const seen = current.map(
      (each) =>
        `${each.ups} ${describeOwnReading(each)}, ${formatDuration(Math.max(0, clock.now() - each.at))} ago`,
    );
    return `reads its UPS itself: ${seen.join('; ') || 'no answer from upsd yet'}`;
  };
  const orders = createAgentOrders({
    latch,
    ownReading,
    config,
    agentId: identity.agentId,
    coordinatorKey,
    coordinatorKeys,
    executed,
    send,
    clock,
    logger,
    bootTime,
    ...(options.run === undefined ? {} : { run: options.run }),
    ...(bridge === undefined ? {} : { nutFsd: bridge.ability }),
  });

  // The host on its own: cached briefings, the lease, its own reading and its offline rule.
  let failSafe: FailSafe | undefined;
  if (host !== undefined) {
    const seams = options.run === undefined ? {} : { run: options.run };
    const safe = await openFailSafe({
      agentId: identity.agentId,
      coordinatorKey,
      coordinatorKeys,
      clockToleranceMs: config.clockTolerance,
      file: statePath(stateDir, 'briefing'),
      offlineFile: statePath(stateDir, 'offline'),
      runShutdown: createOwnShutdown({
        ability: createShutdownAbility(host, seams, logger),
        executed,
        clock,
        logger,
      }),
      latch,
      send,
      bootTime,
      clock,
      logger,
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
    });
    failSafe = safe;
    if ((host.upsd ?? []).length > 0) {
      readings = await startHostReadings({
        upsd: host.upsd ?? [],
        file: statePath(stateDir, 'ownReadings'),
        bootTime,
        clock,
        logger,
        onReading: (_reading, changed) => {
          safe.ownReadings(readings?.current() ?? {});
          if (changed) sendReadings();
        },
        ...(options.createNutSession === undefined ? {} : { createSession: options.createNutSession }),
      });
    }
  }
  /** `host.upsd:` entries whose id feeds nothing in the briefing: read, but of no use on its own. */
  const upsdWarnings = (): string[] => {
    const claims = failSafe?.claims();
    if (claims === undefined) return [];
    const ids = new Set(claims.feeds.map((feed) => feed.ups));
    return (host?.upsd ?? [])
      .filter((entry) => !ids.has(entry.id))
      .map(
        (entry) =>
          `host.upsd: "${entry.id}" feeds nothing in this host's briefing (its UPSes: ${[...ids].join(', ')})`,
      );
  };
  let warned = '';
  const warnUpsd = (): void => {
    const warnings = upsdWarnings();
    if (warnings.join() !== warned) for (const warning of warnings) logger.warn(warning);
    warned = warnings.join();
  };
  warnUpsd();
  /** What this host reads itself goes to the coordinator (status, `upsfleet hosts`) on change and every 10 s. */
  const sendReadings = (): void => {
    const current = readings?.current();
    if (current === undefined || link?.state !== 'open') return;
    send(toReadingFrame(Object.values(current), upsdWarnings())).catch(() => undefined);
  };
  const readingTimer = readings === undefined ? undefined : setInterval(sendReadings, 10_000);
  readingTimer?.unref();

  let outbox: Outbox | undefined;
  let delivery: EventDelivery | undefined;
  let watcher: Watcher | undefined;
  if (config.ups.length > 0) {
    const opened = await openOutbox({
      dir: join(stateDir, 'outbox'),
      sign: (claims) => signUpsEvent(keyPair, identity.agentId, claims, clock.now()),
      clock,
      logger,
    });
    const events = createEventDelivery({ outbox: opened, send, logger });
    outbox = opened;
    delivery = events;
    watcher = startWatcher({
      ups: config.ups,
      outbox: opened,
      clock,
      logger,
      onEnqueued: () => events.kick(),
      ...(options.createNutSession === undefined ? {} : { createSession: options.createNutSession }),
    });
  }

  let rekeys: Promise<void> = Promise.resolve();
  /** The bridge states received so far, verified in order. */
  let bridgeStates: Promise<void> = Promise.resolve();
  /** A rotation statement signed by the pinned key introduces the coordinator's next key: pin it. */
  const repin = async (token: string): Promise<void> => {
    const next = await verifyRekey(token, pinned.current, clock.now());
    if (next === undefined) return; // signed by an older key: already applied
    await writeFileAtomic(statePath(stateDir, 'coordinatorKey'), `${JSON.stringify(next, null, 2)}\n`, 0o644);
    pinned.repin(await importPublicKey(next));
    logger.warn(`the coordinator rotated its key: now trusting ${await keyId(next)}`);
  };

  /**
   * Welcomed on the current connection. An edge coordinator (which cannot send WebSocket pings)
   * sends the welcome again as its keepalive: only the first one of a connection is news.
   */
  let welcomed = false;
  const onMessage = (message: CoordinatorMessage): void => {
    switch (message.type) {
      case 'welcome': {
        const skew = message.serverTime - clock.now();
        const fields = { agentId: message.agentId, skewMs: skew };
        const again = welcomed;
        welcomed = true;
        if (again) {
          logger.debug('welcome again (keepalive)', fields);
          return;
        }
        logger.info(`connected to ${socketUrl} as ${message.name}`, fields);
        if (message.agentId !== identity.agentId) {
          logger.error(`the coordinator welcomed agent ${message.agentId}, but this is ${identity.agentId}`);
        }
        if (message.protocol !== PROTOCOL_VERSION) {
          logger.warn(`the coordinator speaks protocol ${message.protocol}, this agent ${PROTOCOL_VERSION}`);
        }
        delivery?.connected();
        if (Math.abs(skew) > config.clockTolerance) {
          logger.warn(
            `this clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'behind' : 'ahead of'} the coordinator's, ` +
              `beyond the ${formatDuration(config.clockTolerance)} tolerance: orders may be refused; check NTP`,
          );
        }
        return;
      }
      case 'order':
        // Never rejects; an order this agent cannot carry out is acknowledged as rejected, with the reason.
        // It waits for key rotations received before it, which may be what signed it.
        rekeys.then(() => orders.handleOrder(message.token)).catch(() => undefined);
        return;
      case 'briefing': {
        const safe = failSafe;
        if (safe === undefined) logger.debug('briefing ignored: this agent has no host: section');
        else
          void rekeys
            .then(() => safe.briefing(message.token))
            .then(() => safe.idle())
            .then(() => {
              warnUpsd();
              sendReadings();
            });
        return;
      }
      case 'bridge': {
        const state = bridgeState;
        if (state === undefined) logger.debug('bridge state ignored: this agent has no bridge: section');
        else {
          const token = message.token;
          // accept() never rejects; should that change, a throw is logged and later states still go.
          bridgeStates = Promise.all([bridgeStates, rekeys])
            .then(() => state.accept(token))
            .catch((error: unknown) =>
              logger.error(`bridge: could not handle a state from the coordinator: ${errorMessage(error)}`),
            );
        }
        return;
      }
      case 'lease': {
        const safe = failSafe;
        if (safe !== undefined) void rekeys.then(() => safe.lease(message.token));
        const offline = bridgeOffline;
        if (offline !== undefined) void rekeys.then(() => offline.lease(message.token));
        return;
      }
      case 'offline-ack': {
        failSafe?.offlineAck(message.id);
        // The state the coordinator sent before this ack says what it decided: verified first.
        const offline = bridgeOffline;
        if (offline !== undefined) void bridgeStates.then(() => offline.offlineAck(message.id));
        return;
      }
      case 'rekey':
        // One at a time, in order: each statement is checked against the key the previous one pinned.
        rekeys = rekeys
          .then(() => repin(message.token))
          .catch((error: unknown) =>
            logger.error(`could not apply a coordinator key rotation: ${errorMessage(error)}`),
          );
        return;
      case 'event-ack':
        delivery?.acked(message.seq, message.duplicate ?? false);
        return;
      case 'error':
        if (message.seq !== undefined && delivery !== undefined)
          delivery.refused(message.seq, message.code, message.message);
        else logger.warn(`the coordinator reported ${message.code}: ${message.message}`);
        return;
      default:
        assertNever(message, 'coordinator message');
    }
  };

  const roles: ('host' | 'watcher' | 'bridge')[] = [];
  if (host !== undefined) roles.push('host');
  if (config.ups.length > 0) roles.push('watcher');
  if (bridge !== undefined) roles.push('bridge');
  logger.info(`starting as ${identity.name}: ${describeAbilities(config).join('; ')}`, {
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
    roles,
    ...(bridge === undefined ? {} : { bridge: { listen: bridge.listen, accountAddresses: true } }),
    onState: (state) => {
      if (state !== 'open') welcomed = false;
      if (!stopping) failSafe?.linkState(state);
      if (!stopping) bridgeOffline?.linkState(state);
      if (state !== 'open') delivery?.disconnected();
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
      if (readingTimer !== undefined) clearInterval(readingTimer);
      await readings?.stop();
      await failSafe?.stop();
      await bridgeReadings?.stop();
      await bridgeOffline?.stop();
      delivery?.stop();
      await watcher?.stop();
      await bridge?.stop();
      await started.close();
      await outbox?.close();
      await executed.flush();
      logger.info('agent stopped');
    },
  };
}
