/**
 * One fleet's coordinator at the edge: a Durable Object running the same core as the Node
 * coordinator (the Hono app, the fleet shell and engine, the drizzle queries over PostgreSQL).
 * Agents' WebSockets are held through the hibernation API, so the object may be evicted while they
 * stay connected; its alarm is the durable timer (stage delays, grace, the dead-UPS rule) and the
 * keepalive that agents need (they drop a connection silent for 45 s), and it renews the fleet's
 * lease every lease interval while agents are connected (as the Node coordinator's timer does). It
 * also drives notification delivery: the same outbox and delivery step as on Node, each step run
 * by the alarm at the outbox's next due time rather than by a polling timer.
 */
import { createAuthThrottle } from '../../../shared/src/auth-throttle.js';
import { systemClock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import { createConsoleLogger, type Logger } from '../../../shared/src/logger.js';
import { encodeMessage, MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../../shared/src/protocol.js';
import { createReplayGuard, SignatureError } from '../../../shared/src/signing.js';
import { verifyAgentAuth } from '../../../shared/src/tokens.js';
import { ensureAdminToken, loadOrCreateSigningKey } from '../bootstrap.js';
import type { Database } from '../db/client.js';
import { createAgentKeys } from '../fleet/agent-keys.js';
import { createKeyRing } from '../fleet/coordinator-key.js';
import { createFleet, type Fleet } from '../fleet/fleet.js';
import { createHostReports } from '../fleet/host-reports.js';
import { createLease } from '../fleet/lease.js';
import { bridgeOf } from '../fleet/nut-bridges.js';
import { bearerToken } from '../http/admin-auth.js';
import { createApp } from '../http/app.js';
import { type Problem, problemOf, problemParts } from '../http/problem.js';
import { notificationOperations } from '../http/routes/admin/notification-ops.js';
import { metricsRoutes } from '../http/routes/metrics.js';
import { createLiveFeed } from '../live/live-feed.js';
import { readStatusChannelHealth } from '../metrics/channel-health.js';
import { createMetrics } from '../metrics/create-metrics.js';
import { createUpsStateReader } from '../metrics/ups-state-reader.js';
import { createDelivery } from '../notify/delivery.js';
import { type AgentConnection, createHub, type Hub } from '../ws/hub.js';
import {
  AGENT_WS_PATH,
  closeSession,
  openSession,
  type SessionCoreDeps,
  type SessionState,
  sessionFrame,
} from '../ws/session-core.js';
import { type AlarmScheduler, createAlarmScheduler } from './alarm-scheduler.js';
import { createDurableReplayStore, createDurableThrottleStore } from './durable-guards.js';
import { type EdgeBindings, type EdgeConfig, loadEdgeConfig } from './edge-config.js';
import { type EmbeddedMigration, openEdgeDatabase, schemaOfFleet } from './edge-database.js';
import type { DurableObjectState, EdgeSocket } from './workerd-types.js';
import { upgradeResponse, workerdGlobals } from './workerd-types.js';

/** The committed migrations, put in by infra/build-edge.mjs. */
declare const __UPSFLEET_MIGRATIONS__: EmbeddedMigration[];

/** Headers the Worker sets (and overwrites) on every request it forwards to a fleet. */
export const FLEET_HEADER = 'x-upsfleet-fleet';
export const CLIENT_HEADER = 'x-upsfleet-client';
const FLEET_KEY = 'fleet';

interface Running {
  readonly config: EdgeConfig;
  readonly logger: Logger;
  readonly database: Database;
  readonly hub: Hub;
  readonly fleet: Fleet;
  readonly alarms: AlarmScheduler;
  readonly session: SessionCoreDeps;
  readonly app: { fetch(request: Request, env?: unknown): Response | Promise<Response> };
  readonly verifyAgent: (token: string) => Promise<string>;
}

export function problemResponse(problem: Problem): Response {
  const { body, headers } = problemParts(problem);
  return new Response(body, { status: problem.status, headers });
}

export class FleetObject {
  private running: Promise<Running> | undefined;
  /** The wrapper the hub knows for each socket (recreated after hibernation). */
  private readonly connections = new WeakMap<EdgeSocket, AgentConnection>();
  /**
   * Each socket's session state while this instance lives: one object shared by the socket's
   * frames (an ack right after hello must see it greeted), stored on the socket for a wake-up.
   */
  private readonly states = new WeakMap<EdgeSocket, SessionState>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: EdgeBindings,
  ) {}

  async fetch(request: Request): Promise<Response> {
    try {
      const running = await this.start(request.headers.get(FLEET_HEADER) ?? undefined);
      const url = new URL(request.url);
      if (url.pathname === AGENT_WS_PATH && request.headers.get('upgrade')?.toLowerCase() === 'websocket')
        return await this.upgrade(running, request);
      const client = request.headers.get(CLIENT_HEADER) ?? 'unknown';
      // The shape the admin API's throttle reads the client's address from (as on Node).
      return await running.app.fetch(request, { incoming: { socket: { remoteAddress: client } } });
    } catch (error) {
      console.error(`fleet object failed: ${errorMessage(error)}`);
      return problemResponse(problemOf(error));
    }
  }

  async webSocketMessage(socket: EdgeSocket, message: string | ArrayBuffer): Promise<void> {
    const running = await this.start(undefined);
    const state = this.stateOf(socket);
    if (state === undefined) return;
    const size =
      typeof message === 'string' ? new TextEncoder().encode(message).byteLength : message.byteLength;
    if (size > MAX_FRAME_BYTES) {
      // What `ws` does on Node with maxPayload.
      socket.close(1009, 'Max payload size exceeded');
      return;
    }
    const frame = typeof message === 'string' ? { text: message } : ({ binary: true } as const);
    await sessionFrame(running.session, this.connectionOf(socket, state.agentId), state, frame);
    socket.serializeAttachment(state);
  }

  async webSocketClose(socket: EdgeSocket, code: number, reason: string): Promise<void> {
    const running = await this.start(undefined);
    const state = this.stateOf(socket);
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    if (state !== undefined)
      await closeSession(running.session, this.connectionOf(socket, state.agentId), state, code, reason);
  }

  async webSocketError(socket: EdgeSocket, error: unknown): Promise<void> {
    const running = await this.start(undefined);
    running.logger.warn('agent connection error', { reason: errorMessage(error) });
    await this.webSocketClose(socket, 1006, 'error');
  }

  async alarm(): Promise<void> {
    const woken = this.running === undefined;
    const running = await this.start(undefined);
    running.logger.debug('alarm', { woken: woken || undefined });
    // A start (after an eviction or a restart) has re-evaluated the engine already (resume).
    await running.alarms.fire(woken);
    await running.fleet.idle();
  }

  /** A keepalive to every agent socket; false when there is none. */
  private sendKeepalives(now: number): boolean {
    let sent = false;
    for (const socket of this.ctx.getWebSockets()) {
      const state = this.stateOf(socket);
      if (state === undefined) continue;
      this.connectionOf(socket, state.agentId).send(keepaliveFrame(state, now));
      sent = true;
    }
    return sent;
  }

  private stateOf(socket: EdgeSocket): SessionState | undefined {
    let state = this.states.get(socket);
    if (state === undefined) {
      state = (socket.deserializeAttachment() as SessionState | null) ?? undefined;
      if (state !== undefined) this.states.set(socket, state);
    }
    return state;
  }

  private connectionOf(socket: EdgeSocket, agentId: string): AgentConnection {
    let connection = this.connections.get(socket);
    if (connection === undefined) {
      connection = {
        agentId,
        send: (text) => {
          try {
            socket.send(text);
          } catch {
            // closing: the order stays pending and is re-sent on reconnect
          }
        },
        close: (code, reason) => {
          try {
            socket.close(code, reason);
          } catch {
            // already closed
          }
        },
      };
      this.connections.set(socket, connection);
    }
    return connection;
  }

  private async upgrade(running: Running, request: Request): Promise<Response> {
    const token = bearerToken(request.headers.get('authorization') ?? undefined);
    if (token === undefined)
      return problemResponse({ status: 401, detail: 'missing bearer token', code: 'unauthorized' });
    let agentId: string;
    try {
      agentId = await running.verifyAgent(token);
    } catch (error) {
      const reason = error instanceof SignatureError ? error.reason : 'error';
      running.logger.warn('agent connection refused', { reason, detail: String(error) });
      return problemResponse({
        status: 401,
        detail:
          error instanceof SignatureError ? `agent token refused: ${error.reason}` : 'agent token refused',
        code: 'unauthorized',
      });
    }
    const { WebSocketPair } = workerdGlobals();
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    const state = await openSession(running.session, this.connectionOf(server, agentId));
    if (state !== undefined) {
      this.states.set(server, state);
      server.serializeAttachment(state);
    }
    running.alarms.keepalive(true);
    return upgradeResponse(pair[0]);
  }

  /** Builds the fleet's coordinator once per instance (again after an eviction). */
  private start(fleetFromRequest: string | undefined): Promise<Running> {
    this.running ??= this.ctx.blockConcurrencyWhile(() => this.boot(fleetFromRequest));
    const running = this.running;
    running.catch(() => {
      if (this.running === running) this.running = undefined;
    });
    return running;
  }

  private async boot(fleetFromRequest: string | undefined): Promise<Running> {
    const stored = await this.ctx.storage.get<string>(FLEET_KEY);
    const fleetName = stored ?? fleetFromRequest;
    if (fleetName === undefined) throw new Error('fleet object woken before it served a request');
    if (stored === undefined) await this.ctx.storage.put(FLEET_KEY, fleetName);
    const config = loadEdgeConfig(this.env, fleetName);
    const clock = systemClock;
    const logger = createConsoleLogger({
      name: `coordinator[${fleetName}]`,
      level: config.coordinator.logLevel,
      write: (line) => console.log(line.trimEnd()),
    });
    const database = await openEdgeDatabase({
      url: config.databaseUrl,
      pgSchema: schemaOfFleet(fleetName),
      migrations: __UPSFLEET_MIGRATIONS__,
    });
    const { db } = database;
    const signingKey = await createKeyRing(db, await loadOrCreateSigningKey(db));
    await ensureAdminToken(db, config.adminToken, () => undefined, logger);
    const hub = createHub();
    const agentKeys = createAgentKeys(db);
    const sockets = this.ctx.getWebSockets();
    // The lease, as on Node (a database round trip, then signed and sent to every agent); the
    // alarm renews it while agents are connected, so the object wakes every lease interval.
    const lease = createLease({
      db,
      hub,
      signingKey,
      clock,
      logger,
      intervalMs: config.coordinator.leaseIntervalMs,
    });
    // Notifications: written to the outbox in each decision's transaction, as on Node; each
    // delivery step is run by the alarm, which a commit that queued messages makes due at once.
    const delivery = createDelivery({
      db,
      clock,
      logger,
      onOutcome: (channel, outcome) => metrics.hooks.notification(channel, outcome),
    });
    const alarms = createAlarmScheduler({
      storage: this.ctx.storage,
      clock,
      intervalMs: config.coordinator.heartbeatMs,
      sendKeepalive: () => this.sendKeepalives(clock.now()),
      lease: {
        intervalMs: lease.intervalMs,
        renew: () => (this.ctx.getWebSockets().length > 0 ? lease.renew() : undefined),
      },
      deliver: async () => {
        const next = await delivery.deliverDue();
        logger.debug('notification step done', {
          next: next === undefined ? 'none' : new Date(next).toISOString(),
        });
        return next;
      },
    });
    // The dashboard's live stream, told of each committed decision (as on Node).
    const live = createLiveFeed({ db, isConnected: (id) => hub.isConnected(id), logger });
    const fleet = await createFleet({
      db,
      hub,
      clock,
      logger,
      signingKey,
      orderTtlMs: config.coordinator.orderTtlMs,
      // Woken from hibernation with agents still connected, nothing was missed: no settling.
      resumeSettleMs: sockets.length > 0 ? 0 : config.coordinator.resumeSettleMs,
      scheduler: alarms.scheduler,
      notifier: { publish: delivery.publish, kick: () => alarms.deliverAt(clock.now()) },
      onCommitted: () => live.changed(),
      get metrics() {
        return metrics.hooks;
      },
    });
    // The same series as on Node (no process metrics); counters start at 0 with each instance,
    // as after a Node restart (rate() handles the reset).
    const metrics = createMetrics({
      readUpsStates: createUpsStateReader(db),
      connectedAgents: () => hub.size,
      engineState: () => fleet.state,
      policy: () => fleet.policy,
      readChannelHealth: () => readStatusChannelHealth(db),
      logger,
    });
    // What hosts report about themselves (own readings, what they did on their own), as on Node:
    // without it a host's offline report would never reach the run's timeline nor be acknowledged.
    const hostReports = createHostReports({
      hub,
      offlineReport: (name, report) => fleet.offlineReport(name, report),
      clock,
      logger,
    });
    // Kept in the object's storage: an eviction or a restart does not forget a used connect token
    // nor a guesser's failures (on Node, the process's memory holds them).
    const replayGuard = createReplayGuard({ store: createDurableReplayStore(this.ctx.storage) });
    const throttle = createAuthThrottle({ clock, store: createDurableThrottleStore(this.ctx.storage) });
    const metricsPublic = config.coordinator.metricsPublic;
    const app = createApp({
      db,
      clock,
      logger,
      signingKey,
      agentKeys,
      fleet,
      hub,
      replayGuard,
      throttle,
      live,
      hostReports,
      channelHealth: () => readStatusChannelHealth(db),
      adminOperations: notificationOperations({
        db,
        clock,
        logger,
        signingKey,
        agentKeys,
        fleet,
        hub,
        notifier: delivery,
      }),
      onAuthFailure: () => metrics.hooks.authFailure('admin'),
      metrics: (readScope) => ({
        app: metricsRoutes({ metrics, auth: metricsPublic ? undefined : readScope }),
        public: metricsPublic,
      }),
    });
    const session: SessionCoreDeps = {
      db,
      hub,
      fleet,
      agentKeys,
      clock,
      logger,
      keyChain: () => signingKey.chain,
      lease: () => lease.current(),
      hostReports,
    };
    logger.info('coordinator started', {
      fleet: fleetName,
      agents: sockets.length,
      protocol: PROTOCOL_VERSION,
    });
    // Agents that stayed connected while the object slept are back in the hub, and in the engine.
    for (const socket of sockets) {
      const state = this.stateOf(socket);
      if (state === undefined) continue;
      hub.add(this.connectionOf(socket, state.agentId));
      if (state.greeted) await fleet.agentReady(state.agentId, state.name, bridgeOf(state));
    }
    await fleet.resume();
    // A lease at once: to the agents still connected, and for the hellos of those coming.
    await lease.renew();
    alarms.keepalive(sockets.length > 0);
    // Whatever the outbox holds that is due (left by an eviction or a restart) goes out now.
    alarms.deliverAt(clock.now());
    return {
      config,
      logger,
      database,
      hub,
      fleet,
      alarms,
      session,
      app,
      verifyAgent: (token) => verifyAgentAuth(token, agentKeys.keyOf, replayGuard, clock.now()),
    };
  }
}

/** A frame that keeps an agent's connection alive (it drops one silent for 45 s). */
function keepaliveFrame(state: SessionState, now: number): string {
  return encodeMessage({
    type: 'welcome',
    protocol: PROTOCOL_VERSION,
    agentId: state.agentId,
    name: state.name,
    serverTime: now,
  });
}
