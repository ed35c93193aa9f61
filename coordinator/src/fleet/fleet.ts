/**
 * The shell around the pure engine. Every input (a UPS event, an agent connecting or reporting, a
 * timer, an admin's request) goes through one serial queue: decide → in one transaction record the
 * effects and the new engine state → after commit, send the orders and re-arm the single timer.
 * A restarted coordinator loads the stored engine state and carries on from there. Each host agent
 * also gets a signed briefing (briefings.ts) so that it can protect itself when the coordinator is gone.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { ConflictError, ForbiddenError, UnauthorizedError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import { createSerialQueue } from '../../../shared/src/serial-queue.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import type { VerifiedUpsEvent } from '../../../shared/src/tokens.js';
import { decide, type EngineInput, type EngineState, initialEngineState } from '../core/engine.js';
import type { Effect as EngineEffect } from '../core/engine-state.js';
import { type Policy, parsePolicy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import { findActiveAgent, findActiveAgentByName } from '../db/queries/agents.js';
import { loadEngineState, saveEngineState } from '../db/queries/engine-state.js';
import {
  findOrder,
  markOrdersSent,
  pendingOrdersFor,
  recordAck,
  recordResult,
} from '../db/queries/orders.js';
import { insertPolicy, latestPolicy } from '../db/queries/policies.js';
import { addRunEvent, findRunByNumber } from '../db/queries/runs.js';
import { raiseCounterSetting } from '../db/queries/settings.js';
import { listUpsStates, recordUpsEvent } from '../db/queries/ups-events.js';
import type { MetricsHooks } from '../metrics/hooks.js';
import type { NotificationFact } from '../notify/facts.js';
import { factsFromEffects, factsFromUpsEvent, nextStageFor } from '../notify/from-engine.js';
import type { Hub } from '../ws/hub.js';
import { BRIEFING_VERSION_SETTING, createBriefings } from './briefings.js';
import { applyEffect, applyOrderEffects, type Outgoing } from './effects.js';
import { reportInput, upsInput } from './inputs.js';

/** After a restart with a run in progress, stages wait this long for fresh readings before firing. */
export const RESUME_SETTLE_MS = 15_000;

/** After a failed timer tick (e.g. the database restarting), the engine is woken again this soon. */
const TICK_RETRY_MS = 5_000;

export interface FleetDeps {
  readonly db: Db;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: SigningKeyPair;
  /** How long an order stays valid after it is issued. */
  readonly orderTtlMs: number;
  /** Notifications: written to the outbox inside each decision's transaction, delivered after commit. */
  readonly notifier?: {
    publish(tx: Db, facts: readonly NotificationFact[], now: number): Promise<number>;
    kick(): void;
  };
  readonly metrics?: MetricsHooks;
  /** How long stages wait for fresh readings after a restart with a run in progress. */
  readonly resumeSettleMs?: number;
  /** Told after each input has been handled and committed (the live stream reads what is new). */
  readonly onCommitted?: () => void;
}

export async function createFleet(deps: FleetDeps) {
  const { db, hub, clock, logger } = deps;
  const queue = createSerialQueue();
  const briefings = createBriefings({
    raiseVersionCeiling: (atLeast) => raiseCounterSetting(db, BRIEFING_VERSION_SETTING, atLeast),
    hub,
    clock,
    logger,
    signingKey: deps.signingKey,
  });
  let policy: Policy | undefined;
  let state: EngineState = initialEngineState;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const stored = await latestPolicy(db);
  if (stored !== undefined) policy = parsePolicy(stored.document);
  const saved = (await loadEngineState(db)) as EngineState | undefined;
  if (saved !== undefined) {
    // Connections do not survive a restart; agents reconnect and say hello again.
    // After a restart, stages wait a moment for fresh readings (the watcher's queued backlog, agents
    // reconnecting) rather than fire on what was true before the coordinator went down.
    state = {
      ...saved,
      connected: {},
      ...(saved.run === undefined
        ? {}
        : { holdUntil: clock.now() + (deps.resumeSettleMs ?? RESUME_SETTLE_MS) }),
    };
    if (state.run !== undefined)
      logger.info('resuming the active run from the database', { run: state.run.number });
  }

  function schedule(at: number | undefined): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopped || at === undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        run(() => step({ kind: 'tick' })).catch((error: unknown) => {
          // Deadlines (grace, delays, the dead-UPS rule) must not wait for the next input: retry.
          logger.error('engine tick failed: retrying in 5 s', { error: String(error) });
          schedule(clock.now() + TICK_RETRY_MS);
        });
      },
      Math.max(0, at - clock.now()),
    );
  }

  /**
   * One decision: must run inside the queue. `notify` adds facts (a UPS event's) that need the
   * state after the decision; they are written in the same transaction as the decision.
   */
  async function step(
    input: EngineInput,
    notify?: (after: EngineState, now: number) => NotificationFact[],
  ): Promise<void> {
    const now = clock.now();
    const before = state.ups;
    const decision = decide(policy, state, input, now);
    const outgoing: Outgoing[] = [];
    const lines: string[] = [];
    let wake: number | undefined;
    const current = policy;
    await db.transaction(async (tx) => {
      const ctx = {
        db: tx,
        policy: current,
        signingKey: deps.signingKey,
        orderTtlMs: deps.orderTtlMs,
        logger,
        now,
        outgoing,
        cache: { runIds: new Map<number, string>() },
      };
      // Consecutive shutdown orders (a stage's hosts) are issued as one batch.
      let orders: Extract<EngineEffect, { kind: 'order' }>[] = [];
      const flush = async () => {
        lines.push(...(await applyOrderEffects(ctx, orders)));
        orders = [];
      };
      for (const effect of decision.effects) {
        if (effect.kind === 'order') orders.push(effect);
        else {
          await flush();
          if (effect.kind === 'wake-at') wake = effect.at;
          else lines.push(await applyEffect(ctx, effect));
        }
      }
      await flush();
      await saveEngineState(tx, decision.state, new Date(now));
      if (deps.notifier !== undefined) {
        const drill = (decision.state.run ?? state.run)?.kind === 'drill';
        const facts = [
          ...(notify?.(decision.state, now) ?? []),
          ...factsFromEffects(decision.effects, { at: now, drill }),
        ];
        if (facts.length > 0) await deps.notifier.publish(tx, facts, now);
      }
    });
    state = decision.state;
    deps.notifier?.kick();
    for (const order of outgoing) deps.metrics?.orderIssued(order.kind);
    for (const line of lines) logger.warn(line);
    const sent = outgoing.filter((order) => hub.send(order.agentId, { type: 'order', token: order.token }));
    await markOrdersSent(
      db,
      sent.map((order) => order.orderId),
      new Date(now),
    );
    for (const order of outgoing) {
      if (!sent.includes(order))
        logger.warn('agent not connected: the order waits for it', {
          host: order.host,
          order: order.orderId,
        });
    }
    schedule(wake);
    await briefings.powerChanged(policy, before, state.ups);
  }

  const run = <T>(task: () => Promise<T>) => queue.run(task).finally(() => deps.onCommitted?.());

  /** A verified, signed UPS event: stored (or recognised as a duplicate), then fed to the engine. */
  function ingest(event: VerifiedUpsEvent): Promise<'stored' | 'duplicate'> {
    return run(async () => {
      const agent = await findActiveAgent(db, event.agentId);
      if (agent === undefined) throw new UnauthorizedError(`agent ${event.agentId} is not active`);
      const { claims } = event;
      const entry = policy?.ups.get(claims.ups);
      if (entry !== undefined && entry.watcher !== agent.name) {
        throw new ForbiddenError(`agent "${agent.name}" is not the watcher of UPS "${entry.name}"`);
      }
      const input = upsInput(claims);
      const outcome = await recordUpsEvent(db, {
        agentId: agent.id,
        ups: claims.ups,
        seq: claims.seq,
        dropped: claims.dropped,
        dead: claims.dead,
        events: claims.events,
        status: claims.status,
        power: claims.dead ? 'battery' : input.power,
        vars: claims.vars,
        observedAt: new Date(claims.observedAt),
        receivedAt: new Date(clock.now()),
        tokenHash: event.tokenHash,
      });
      if (!outcome.stored) {
        if (outcome.reason === 'duplicate') {
          logger.info('duplicate UPS event ignored', {
            ups: claims.ups,
            seq: claims.seq,
            agent: agent.name,
          });
          return 'duplicate';
        }
        throw new ConflictError(
          outcome.reason === 'gap'
            ? `event seq ${claims.seq} leaves a gap after ${outcome.lastSeq} that it does not explain (dropped: ${claims.dropped})`
            : `event seq ${claims.seq} replayed, or re-used for a different event (last accepted: ${outcome.lastSeq}); ` +
                "if the watcher's state directory was reset, enroll it again",
        );
      }
      if (claims.dropped > 0)
        logger.warn('watcher dropped events (its queue was full)', {
          ups: claims.ups,
          dropped: claims.dropped,
        });
      logger.info('UPS event', {
        ups: claims.ups,
        status: claims.status?.join(' ') ?? 'unknown',
        events: claims.events.join(','),
        dead: claims.dead || undefined,
        seq: claims.seq,
      });
      if (entry === undefined) {
        logger.warn('event for a UPS that is not in the policy: recorded, not acted on', {
          ups: claims.ups,
        });
        return 'stored';
      }
      // Durations are measured on the coordinator's clock from when it learned of a change: a backlog
      // delivered late, or a watcher whose clock is off, must never make a stage fire at once.
      const wasDead = state.ups[claims.ups]?.dead === true;
      const current = policy;
      await step({ ...input, at: clock.now() }, (after, now) =>
        factsFromUpsEvent(claims, {
          at: now,
          wasDead,
          nextStage: current === undefined ? undefined : nextStageFor(current, after, claims.ups, now),
        }),
      );
      return 'stored';
    });
  }

  return {
    get policy() {
      return policy;
    },
    get state() {
      return state;
    },

    /** Validates, stores and applies a policy; returns its warnings (e.g. hosts not enrolled yet). */
    applyPolicy(document: unknown, appliedBy: string): Promise<{ policy: Policy; warnings: string[] }> {
      const parsed = parsePolicy(document);
      return run(async () => {
        await insertPolicy(db, document, appliedBy, new Date(clock.now()));
        policy = parsed;
        const warnings = [...parsed.warnings];
        for (const host of parsed.hosts.keys()) {
          const enrolled = await findActiveAgentByName(db, host);
          if (enrolled === undefined)
            warnings.push(
              `host "${host}" has no enrolled agent yet: it cannot receive orders until it enrolls`,
            );
        }
        logger.info('policy applied', {
          by: appliedBy,
          stages: parsed.stages.length,
          hosts: parsed.hosts.size,
          warnings: warnings.length,
        });
        for (const warning of warnings) logger.warn(`policy: ${warning}`);
        await step({ kind: 'tick' });
        await briefings.policyApplied(parsed, state.ups);
        return { policy: parsed, warnings };
      });
    },

    /** A verified, signed UPS event: stored (or recognised as a duplicate), then fed to the engine. */
    async ingestEvent(event: VerifiedUpsEvent): Promise<'stored' | 'duplicate'> {
      try {
        const outcome = await ingest(event);
        deps.metrics?.eventReceived(outcome);
        return outcome;
      } catch (error) {
        deps.metrics?.eventReceived('refused');
        throw error;
      }
    },

    /** An agent said hello: it counts as connected, gets its briefing, then every order still owed to it. */
    agentReady(agentId: string, name: string): Promise<void> {
      return run(async () => {
        await step({ kind: 'host-connected', host: name });
        await briefings.hello(policy, state.ups, agentId, name);
        const now = clock.now();
        const pending = await pendingOrdersFor(db, agentId, new Date(now));
        const sent = pending.filter((order) => hub.send(agentId, { type: 'order', token: order.token }));
        await markOrdersSent(
          db,
          sent.map((order) => order.id),
          new Date(now),
        );
        if (sent.length > 0) logger.info('re-sent pending orders', { agent: name, count: sent.length });
      });
    },

    agentGone(name: string): Promise<void> {
      return run(() => {
        briefings.gone(name);
        return step({ kind: 'host-disconnected', host: name });
      });
    },

    agentReport(agentId: string, message: Extract<AgentMessage, { type: 'ack' | 'result' }>): Promise<void> {
      return run(async () => {
        const at = new Date(clock.now());
        const known =
          message.type === 'ack'
            ? await recordAck(db, {
                orderId: message.orderId,
                agentId,
                status: message.status,
                ...(message.reason === undefined ? {} : { reason: message.reason }),
                at,
              })
            : await recordResult(db, {
                orderId: message.orderId,
                agentId,
                outcome: message.outcome,
                exitCode: message.exitCode ?? null,
                ...(message.output === undefined ? {} : { output: message.output }),
                ...(message.error === undefined ? {} : { error: message.error }),
                at,
              });
        const what = message.type === 'ack' ? `ack ${message.status}` : `result ${message.outcome}`;
        if (!known) {
          logger.warn(`${what} for an unknown order ignored`, { agent: agentId, order: message.orderId });
          return;
        }
        logger.info(what, { agent: agentId, order: message.orderId });
        const order = await findOrder(db, message.orderId);
        if (order !== undefined) {
          deps.metrics?.orderReported(
            order.kind,
            message.type,
            message.type === 'ack' ? message.status : message.outcome,
            (at.getTime() - order.createdAt.getTime()) / 1000,
          );
          if (message.type === 'result' && message.outcome === 'failed' && deps.notifier !== undefined) {
            const failed: NotificationFact = {
              kind: 'order-failed',
              at: at.getTime(),
              run: state.run?.number ?? 0,
              drill: order.drill,
              host: order.host,
              stage: order.stage,
              error: message.error,
              exitCode: message.exitCode ?? null,
            };
            await db.transaction(
              (tx) => deps.notifier?.publish(tx, [failed], at.getTime()) ?? Promise.resolve(0),
            );
            deps.notifier.kick();
          }
        }
        const active = state.run === undefined ? undefined : await findRunByNumber(db, state.run.number);
        if (order === undefined || active === undefined || order.runId !== active.id) return;
        if (order.kind !== 'shutdown') {
          const detail =
            message.type === 'ack'
              ? message.status
              : `${message.outcome}${message.error ? `: ${message.error}` : ''}`;
          await addRunEvent(db, {
            runId: active.id,
            at,
            kind: `${order.kind}-${message.type}`,
            host: order.host,
            detail,
          });
          return;
        }
        await step(reportInput(order.host, message));
      });
    },

    /** A step of an order (a before hook, the shutdown command) for the run's timeline. */
    agentProgress(agentId: string, message: Extract<AgentMessage, { type: 'progress' }>): Promise<void> {
      return run(async () => {
        const order = await findOrder(db, message.orderId);
        if (order === undefined || order.agentId !== agentId) {
          logger.warn('progress for an unknown order ignored', { agent: agentId, order: message.orderId });
          return;
        }
        const detail = `${message.step}: ${message.state}${message.exitCode === undefined || message.exitCode === null ? '' : ` (exit ${message.exitCode})`}`;
        await addRunEvent(db, {
          runId: order.runId,
          at: new Date(clock.now()),
          kind: 'progress',
          host: order.host,
          detail,
        });
        logger.info(`${order.host}: ${detail}`, { order: order.id });
      });
    },

    /** An admin fires a manual stage (starts a run if none is active). */
    fireStage(stage: string): Promise<void> {
      return run(async () => {
        if (policy?.stages.some((s) => s.name === stage) !== true)
          throw new ConflictError(`no stage "${stage}" in the policy`);
        if (state.run?.kind === 'drill')
          throw new ConflictError('a drill is in progress: fire the stage after it ends');
        if (state.run?.phase === 'restoring') {
          throw new ConflictError(
            'power is back and the run is restoring: a stage fired now would be ignored',
          );
        }
        await step({ kind: 'manual', stage });
      });
    },

    /** Starts a fleet-wide drill; refused while a run is active. Returns the run number. */
    startDrill(): Promise<number> {
      return run(async () => {
        if (policy === undefined) throw new ConflictError('no policy has been applied yet');
        if (state.run !== undefined)
          throw new ConflictError(`run ${state.run.number} is in progress: no drill now`);
        await step({ kind: 'start-drill' });
        const started = state.run as EngineState['run'];
        if (started === undefined) throw new ConflictError('the drill did not start');
        return started.number;
      });
    },

    /** After a restart: feed the stored UPS states (in case the last decision was lost) and re-evaluate. */
    resume(): Promise<void> {
      return run(async () => {
        for (const row of await listUpsStates(db)) {
          if (policy?.ups.has(row.ups) !== true) continue;
          const input = upsInput(
            {
              status: row.status,
              vars: row.vars as Record<string, string>,
              dead: row.dead,
              observedAt: row.observedAt.getTime(),
            },
            row.ups,
          );
          // The coordinator's clock, as for live events: never the watcher's.
          await step({ ...input, at: clock.now() });
        }
        await step({ kind: 'tick' });
      });
    },

    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await queue.idle();
    },
  };
}
export type Fleet = Awaited<ReturnType<typeof createFleet>>;
