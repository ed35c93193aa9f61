/**
 * The shell around the pure engine. Every input (a UPS event, an agent connecting or reporting, a
 * timer, an admin's request) goes through one serial queue that commits in batches
 * (group-commit.ts): the inputs waiting are decided one after another in memory (decide-input.ts)
 * and recorded with the engine state in one transaction → after commit, the orders are sent and the
 * single timer re-armed. A restarted coordinator loads the stored engine state and carries on from
 * there (resume.ts). Each host agent also gets a signed briefing (briefings.ts) so that it can
 * protect itself when the coordinator is gone. The jobs live in files named after them; this file
 * only wires them to the queue.
 */
import type { AgentMessage } from '../../../shared/src/protocol.js';
import type { VerifiedUpsEvent } from '../../../shared/src/tokens.js';
import { type Policy, parsePolicy } from '../core/policy.js';
import { raiseCounterSetting } from '../db/queries/settings.js';
import { applyPolicy, fireStage, startDrill } from './admin-commands.js';
import { agentGone, agentProgress, agentReady, agentReport } from './agent-reports.js';
import { BRIEFING_VERSION_SETTING, createBriefings } from './briefings.js';
import type { FleetContext, FleetDeps } from './context.js';
import { decideInput } from './decide-input.js';
import { ingestEvent } from './event-intake.js';
import { createGroupCommit } from './group-commit.js';
import type { BridgeHello } from './nut-bridges.js';
import { BRIDGE_VERSION_SETTING, createNutBridges } from './nut-bridges.js';
import { type OfflineReport, recordOfflineReport } from './offline-reports.js';
import { loadStored, resume } from './resume.js';
import { createTimeoutScheduler } from './scheduler.js';
import { createEngineTimer } from './timer.js';

export type { FleetDeps } from './context.js';
export { RESUME_SETTLE_MS } from './resume.js';

export async function createFleet(deps: FleetDeps) {
  const { db, hub, clock, logger } = deps;
  const briefings = createBriefings({
    raiseVersionCeiling: (atLeast) => raiseCounterSetting(db, BRIEFING_VERSION_SETTING, atLeast),
    hub,
    clock,
    logger,
    signingKey: deps.signingKey,
  });
  const bridges = createNutBridges({
    db,
    raiseVersionCeiling: (atLeast) => raiseCounterSetting(db, BRIDGE_VERSION_SETTING, atLeast),
    hub,
    clock,
    logger,
    signingKey: deps.signingKey,
  });
  const timer = createEngineTimer({
    scheduler: deps.scheduler ?? createTimeoutScheduler(clock),
    clock,
    logger,
    tick: () => run(() => decideInput(fleet, { kind: 'tick' })),
  });
  const fleet: FleetContext = {
    deps,
    briefings,
    bridges,
    timer,
    connections: new Map(),
    db,
    batch: undefined,
    ...(await loadStored(deps)),
  };
  const queue = createGroupCommit(fleet);
  const run = <T>(task: () => Promise<T>) => queue.run(task).finally(() => deps.onCommitted?.());

  return {
    get policy() {
      return fleet.policy;
    },
    get state() {
      return fleet.state;
    },

    /** Validates, stores and applies a policy; returns its warnings (e.g. hosts not enrolled yet). */
    applyPolicy(document: unknown, appliedBy: string): Promise<{ policy: Policy; warnings: string[] }> {
      const parsed = parsePolicy(document);
      return run(() => applyPolicy(fleet, parsed, document, appliedBy));
    },

    /** A verified, signed UPS event: stored (or recognised as a duplicate), then fed to the engine. */
    async ingestEvent(event: VerifiedUpsEvent): Promise<'stored' | 'duplicate'> {
      try {
        const outcome = await run(() => ingestEvent(fleet, event));
        deps.metrics?.eventReceived(outcome);
        return outcome;
      } catch (error) {
        deps.metrics?.eventReceived('refused');
        throw error;
      }
    },

    /**
     * An agent said hello: it counts as connected, gets its briefing (and, as a NUT bridge, what it
     * serves), then every order still owed to it.
     */
    agentReady(agentId: string, name: string, bridge?: BridgeHello): Promise<void> {
      return run(() => agentReady(fleet, agentId, name, bridge));
    },

    /** NUT accounts changed: every bridge gets the new list. */
    nutCredentialsChanged(): Promise<void> {
      // After the batch's commit: the refresh reads the database outside its transaction.
      return run(async () => {
        fleet.batch?.afterCommit.push(() => bridges.refresh(fleet.policy, fleet.state));
      });
    },

    /** Where bridge agent `name` serves NUT (HOST:PORT), while it is connected. */
    bridgeListen(name: string): string | undefined {
      return bridges.listenOf(name);
    },

    agentGone(name: string): Promise<void> {
      return run(() => agentGone(fleet, name));
    },

    agentReport(agentId: string, message: Extract<AgentMessage, { type: 'ack' | 'result' }>): Promise<void> {
      return run(() => agentReport(fleet, agentId, message));
    },

    /** A step of an order (a before hook, the shutdown command) for the run's timeline. */
    agentProgress(agentId: string, message: Extract<AgentMessage, { type: 'progress' }>): Promise<void> {
      return run(() => agentProgress(fleet, agentId, message));
    },

    /** What a host did on its own, for the run's timeline; a host that shut down counts as down. */
    offlineReport(name: string, report: OfflineReport): Promise<void> {
      return run(() => recordOfflineReport(fleet, name, report));
    },

    /** An admin fires a manual stage (starts a run if none is active). */
    fireStage(stage: string): Promise<void> {
      return run(() => fireStage(fleet, stage));
    },

    /** Starts a fleet-wide drill; refused while a run is active. Returns the run number. */
    startDrill(): Promise<number> {
      return run(() => startDrill(fleet));
    },

    /** After a restart: feed the stored UPS states (in case the last decision was lost) and re-evaluate. */
    resume(): Promise<void> {
      return run(() => resume(fleet));
    },

    /** Resolves once every input queued so far has been decided (an edge alarm awaits its tick). */
    idle(): Promise<void> {
      return queue.idle();
    },

    async stop(): Promise<void> {
      timer.stop();
      await queue.idle();
    },
  };
}
export type Fleet = Awaited<ReturnType<typeof createFleet>>;
