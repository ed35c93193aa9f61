/**
 * The composition root: config → database → keys → fleet → HTTP + WebSocket → graceful stop.
 * Nothing runs at import time; `startCoordinator` builds every real object.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { type WebSocket, WebSocketServer } from 'ws';
import { parse as parseYaml } from 'yaml';
import { type Clock, systemClock } from '../../shared/src/clock.js';
import type { Logger } from '../../shared/src/logger.js';
import { CloseCode, MAX_FRAME_BYTES } from '../../shared/src/protocol.js';
import { createReplayGuard } from '../../shared/src/signing.js';
import { ensureAdminToken, loadOrCreateSigningKey } from './bootstrap.js';
import type { CoordinatorConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { createAgentKeys } from './fleet/agent-keys.js';
import { createKeyRing } from './fleet/coordinator-key.js';
import { createFleet } from './fleet/fleet.js';
import { createHostReports } from './fleet/host-reports.js';
import { startLeaseSender } from './fleet/lease.js';
import { createApp } from './http/app.js';
import { notificationOperations } from './http/routes/admin/notification-ops.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { createLiveFeed } from './live/live-feed.js';
import { readStatusChannelHealth } from './metrics/channel-health.js';
import { createMetrics } from './metrics/create-metrics.js';
import { addProcessMetrics } from './metrics/process-metrics.js';
import { createUpsStateReader } from './metrics/ups-state-reader.js';
import { createNotifier } from './notify/notifier.js';
import { startAgentSession } from './ws/agent-session.js';
import { createHub } from './ws/hub.js';
import { createUpgradeHandler } from './ws/upgrade.js';

export interface RunningCoordinator {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startCoordinator(
  config: CoordinatorConfig,
  options: { logger: Logger; clock?: Clock; announceAdminToken: (token: string) => void },
): Promise<RunningCoordinator> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const database = await openDatabase(config.database, undefined, {
    onWriterLockLost: () => {
      // PostgreSQL dropped our session (a restart) and another coordinator took the database
      // meanwhile: two deciders would send orders twice. Stop now; systemd restarts us, and we
      // then wait for the other one to go.
      logger.error('another coordinator took this PostgreSQL database while our lock was lost: exiting');
      process.exit(1);
    },
  });
  try {
    const { db } = database;
    logger.info('database ready', {
      kind: database.kind,
      ...(config.database.kind === 'pglite' ? { dataDir: config.database.dataDir } : {}),
    });
    const signingKey = await createKeyRing(db, await loadOrCreateSigningKey(db));
    await ensureAdminToken(db, config.adminToken, options.announceAdminToken, logger);

    const hub = createHub();
    const live = createLiveFeed({ db, isConnected: (id) => hub.isConnected(id), logger });
    const agentKeys = createAgentKeys(db);
    const notifier = createNotifier({
      db,
      clock,
      logger,
      onOutcome: (channel, outcome) => metrics.hooks.notification(channel, outcome),
    });
    const fleet = await createFleet({
      db,
      hub,
      clock,
      logger,
      signingKey,
      orderTtlMs: config.orderTtlMs,
      notifier,
      get metrics() {
        return metrics.hooks;
      },
      resumeSettleMs: config.resumeSettleMs,
      onCommitted: () => live.changed(),
    });
    const channelHealth = () => readStatusChannelHealth(db);
    const metrics = createMetrics({
      readUpsStates: createUpsStateReader(db),
      connectedAgents: () => hub.size,
      engineState: () => fleet.state,
      policy: () => fleet.policy,
      readChannelHealth: channelHealth,
      logger,
    });
    addProcessMetrics(metrics.registry);
    const leases = startLeaseSender({
      db,
      hub,
      signingKey,
      clock,
      logger,
      intervalMs: config.leaseIntervalMs,
    });
    const hostReports = createHostReports({
      hub,
      offlineReport: (name, report) => fleet.offlineReport(name, report),
      clock,
      logger,
    });
    notifier.start();
    if (config.policyFile !== undefined) {
      const document: unknown = parseYaml(await readFile(config.policyFile, 'utf8'));
      await fleet.applyPolicy(document, `file:${config.policyFile}`);
    }

    // One replay guard for every agent token: the WebSocket upgrade and the key-rotation endpoint.
    const replayGuard = createReplayGuard();
    const app = createApp({
      db,
      clock,
      logger,
      signingKey,
      agentKeys,
      fleet,
      hub,
      replayGuard,
      live,
      channelHealth,
      hostReports,
      adminOperations: notificationOperations({
        db,
        clock,
        logger,
        signingKey,
        agentKeys,
        fleet,
        hub,
        notifier,
      }),
      onAuthFailure: () => metrics.hooks.authFailure('admin'),
      metrics: (readScope) => ({
        app: metricsRoutes({ metrics, auth: config.metricsPublic ? undefined : readScope }),
        public: config.metricsPublic,
      }),
    });
    const server = createAdaptorServer({ fetch: app.fetch });
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    wss.on('connection', (ws: WebSocket, _request: IncomingMessage, agentId: string) => {
      startAgentSession(ws, agentId, {
        db,
        hub,
        fleet,
        agentKeys,
        clock,
        logger,
        heartbeatMs: config.heartbeatMs,
        keyChain: () => signingKey.chain,
        lease: () => leases.current(),
        hostReports,
      }).catch((error: unknown) => {
        logger.error('agent session failed', { error: String(error) });
        ws.terminate();
      });
    });
    server.on('upgrade', createUpgradeHandler({ wss, agentKeys, replayGuard, clock, logger }));

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    logger.info('coordinator listening', { url });
    await fleet.resume();

    return {
      url,
      port,
      async close() {
        hub.closeAll(CloseCode.GoingAway, 'coordinator stopping');
        live.close();
        for (const client of wss.clients) client.terminate();
        wss.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Browsers reuse kept-alive sockets (an EventSource reconnecting keeps one busy): after a
        // moment for answers in flight, close whatever is still open.
        const straggling = setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, 2_000);
        await closed;
        clearTimeout(straggling);
        await leases.stop();
        await fleet.stop();
        await notifier.stop();
        await database.close();
        logger.info('coordinator stopped');
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
