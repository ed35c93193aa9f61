/**
 * The shell around the pure engine: it feeds verified inputs to `decide`, stores and carries out
 * the effects (runs, signed orders), and keeps one wake-up timer. Every state change goes through
 * one serial queue, so an event, a timer and an ack never interleave.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { ConflictError, ForbiddenError, UnauthorizedError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { type AgentMessage, powerStateOf } from '../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { randomId, signOrder, type VerifiedUpsEvent } from '../../../shared/src/tokens.js';
import { decide, type Effect, type EngineInput, type EngineState, emptyState } from '../core/engine.js';
import { type Policy, parsePolicy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import { findActiveAgent, findActiveAgentByName } from '../db/queries/agents.js';
import {
  insertOrder,
  markOrdersSent,
  pendingOrdersFor,
  recordAck,
  recordResult,
} from '../db/queries/orders.js';
import { insertPolicy, latestPolicy } from '../db/queries/policies.js';
import { endRun, listActiveRuns, markStageFired, startRun } from '../db/queries/runs.js';
import { listUpsStates, recordUpsEvent } from '../db/queries/ups-events.js';
import type { Hub } from '../ws/hub.js';
import { createSerialQueue } from './serial-queue.js';

export interface FleetDeps {
  readonly db: Db;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: SigningKeyPair;
  /** How long an order stays valid after it is issued. */
  readonly orderTtlMs: number;
}

export async function createFleet(deps: FleetDeps) {
  const { db, hub, clock, logger } = deps;
  const queue = createSerialQueue();
  let policy: Policy | undefined;
  let state: EngineState = emptyState;
  /** Active run id by UPS name (the engine keys runs by UPS; the database by id). */
  const runIds = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  // --- restore from the database: the engine state is derived, never stored twice --------------
  const stored = await latestPolicy(db);
  if (stored !== undefined) policy = parsePolicy(stored.document);
  const upsRows = await listUpsStates(db);
  const activeRuns = await listActiveRuns(db);
  state = {
    ups: Object.fromEntries(
      upsRows.map((row) => [row.ups, { power: row.power, since: row.powerSince.getTime() }]),
    ),
    runs: Object.fromEntries(
      activeRuns.map((run) => [
        run.ups,
        { startedAt: run.startedAt.getTime(), firedStages: run.firedStages },
      ]),
    ),
  };
  for (const run of activeRuns) runIds.set(run.ups, run.id);
  if (activeRuns.length > 0) logger.info('resuming active runs', { count: activeRuns.length });

  function schedule(at: number): void {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    const delay = Math.max(0, at - clock.now());
    timer = setTimeout(() => {
      timer = undefined;
      void queue
        .run(() => step({ kind: 'tick' }))
        .catch((error: unknown) => {
          logger.error('engine tick failed', { error: String(error) });
        });
    }, delay);
  }

  async function step(input: EngineInput): Promise<void> {
    const now = clock.now();
    const decision = decide(policy, state, input, now);
    state = decision.state;
    let wake: number | undefined;
    for (const effect of decision.effects) {
      if (effect.kind === 'wake-at') wake = effect.at;
      else await apply(effect, now);
    }
    if (wake !== undefined) schedule(wake);
  }

  async function apply(effect: Exclude<Effect, { kind: 'wake-at' }>, now: number): Promise<void> {
    switch (effect.kind) {
      case 'start-run': {
        const run = await startRun(db, effect.ups, new Date(effect.at));
        runIds.set(effect.ups, run.id);
        logger.warn('UPS on battery: run started', { ups: effect.ups, run: run.id });
        return;
      }
      case 'end-run': {
        const runId = runIds.get(effect.ups);
        runIds.delete(effect.ups);
        if (runId !== undefined) await endRun(db, runId, new Date(now), effect.reason);
        logger.info('power restored: run ended', { ups: effect.ups, run: runId });
        return;
      }
      case 'fire-stage': {
        const runId = runIds.get(effect.ups);
        if (runId === undefined) return;
        await markStageFired(db, runId, effect.stage);
        logger.warn('stage fired', { ups: effect.ups, stage: effect.stage, hosts: effect.hosts.join(',') });
        for (const host of effect.hosts) await issueOrder(runId, effect.stage, host, now);
        return;
      }
    }
  }

  async function issueOrder(runId: string, stage: string, host: string, now: number): Promise<void> {
    const agent = await findActiveAgentByName(db, host);
    if (agent === undefined) {
      logger.error('no enrolled agent for host: it will not be shut down', { host, stage });
      return;
    }
    const orderId = randomId();
    const expiresAt = now + deps.orderTtlMs;
    const token = await signOrder(deps.signingKey, {
      orderId,
      agentId: agent.id,
      claims: { kind: 'shutdown', runId, stage, drill: false },
      now,
      expiresAt,
    });
    const order = await insertOrder(db, {
      id: orderId,
      runId,
      agentId: agent.id,
      host,
      stage,
      drill: false,
      token,
      createdAt: new Date(now),
      expiresAt: new Date(expiresAt),
    });
    if (hub.send(agent.id, { type: 'order', token: order.token })) {
      await markOrdersSent(db, [order.id], new Date(now));
      logger.info('order sent', { host, stage, order: order.id });
    } else {
      logger.warn('host not connected: order waits for it', { host, stage, order: order.id });
    }
  }

  return {
    get policy() {
      return policy;
    },
    get state() {
      return state;
    },

    applyPolicy(document: unknown, appliedBy: string): Promise<Policy> {
      const parsed = parsePolicy(document);
      return queue.run(async () => {
        await insertPolicy(db, document, appliedBy, new Date(clock.now()));
        policy = parsed;
        logger.info('policy applied', {
          by: appliedBy,
          stages: parsed.stages.length,
          hosts: parsed.hosts.length,
        });
        await step({ kind: 'tick' });
        return parsed;
      });
    },

    /**
     * A verified, signed UPS event. Resolves `stored` or `duplicate` (already had it: nothing
     * changes); throws typed errors for events that must not be stored.
     */
    ingestEvent(event: VerifiedUpsEvent): Promise<'stored' | 'duplicate'> {
      return queue.run(async () => {
        const agent = await findActiveAgent(db, event.agentId);
        if (agent === undefined) throw new UnauthorizedError(`agent ${event.agentId} is not active`);
        const ups = policy?.ups.find((u) => u.name === event.claims.ups);
        if (ups === undefined) throw new ForbiddenError(`UPS "${event.claims.ups}" is not in the policy`);
        if (ups.watcher !== agent.name) {
          throw new ForbiddenError(`agent "${agent.name}" is not the watcher of UPS "${ups.name}"`);
        }
        const { claims } = event;
        // upsmon's dead-UPS rule: last seen on battery and silent past the dead time counts as
        // on battery (and critical), never as "unknown, so nothing to do".
        const power = claims.dead ? 'battery' : powerStateOf(claims.status);
        const outcome = await recordUpsEvent(db, {
          agentId: agent.id,
          ups: ups.name,
          seq: claims.seq,
          dropped: claims.dropped,
          dead: claims.dead,
          events: claims.events,
          status: claims.status,
          power,
          vars: claims.vars,
          observedAt: new Date(claims.observedAt),
          receivedAt: new Date(clock.now()),
        });
        if (!outcome.stored) {
          if (outcome.reason === 'duplicate') {
            logger.info('duplicate UPS event ignored', { ups: ups.name, seq: claims.seq, agent: agent.name });
            return 'duplicate';
          }
          throw new ConflictError(
            outcome.reason === 'gap'
              ? `event seq ${claims.seq} leaves a gap after ${outcome.lastSeq} that it does not explain (dropped: ${claims.dropped})`
              : `event seq ${claims.seq} replayed (last accepted: ${outcome.lastSeq})`,
          );
        }
        if (claims.dropped > 0) {
          logger.warn('watcher dropped events (its queue was full)', {
            ups: ups.name,
            agent: agent.name,
            dropped: claims.dropped,
          });
        }
        logger.info('UPS event', {
          ups: ups.name,
          status: claims.status?.join(' ') ?? 'unknown',
          events: claims.events.join(','),
          dead: claims.dead || undefined,
          seq: claims.seq,
        });
        await step({ kind: 'power', ups: ups.name, power, at: claims.observedAt });
        return 'stored';
      });
    },

    /** Sends every order still owed to an agent that just said hello. */
    agentReady(agentId: string): Promise<void> {
      return queue.run(async () => {
        const now = clock.now();
        const pending = await pendingOrdersFor(db, agentId, new Date(now));
        const sent = pending.filter((order) => hub.send(agentId, { type: 'order', token: order.token }));
        await markOrdersSent(
          db,
          sent.map((order) => order.id),
          new Date(now),
        );
        if (sent.length > 0) logger.info('re-sent pending orders', { agent: agentId, count: sent.length });
      });
    },

    agentReport(agentId: string, message: Extract<AgentMessage, { type: 'ack' | 'result' }>): Promise<void> {
      return queue.run(async () => {
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
        if (!known)
          logger.warn(`${what} for an unknown order ignored`, { agent: agentId, order: message.orderId });
        else logger.info(what, { agent: agentId, order: message.orderId });
      });
    },

    /** Re-evaluates after a restart (deadlines that passed while the coordinator was down fire now). */
    resume(): Promise<void> {
      return queue.run(() => step({ kind: 'tick' }));
    },

    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await queue.idle();
    },
  };
}
export type Fleet = Awaited<ReturnType<typeof createFleet>>;
