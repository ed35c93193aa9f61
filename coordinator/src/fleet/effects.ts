/**
 * Carries out the engine's effects inside the decision's transaction: runs and their timeline,
 * signed orders (shutdown, wake, UPS power-off). Messages are only collected here; they are sent
 * after the transaction commits, so a crash can never send an order the database does not have.
 */
import type { Logger } from '../../../shared/src/logger.js';
import type { OrderClaims } from '../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { randomId, signOrder } from '../../../shared/src/tokens.js';
import type { RunEffect } from '../core/engine-state.js';
import type { Policy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import { type AgentRow, findActiveAgentByName, listAgents } from '../db/queries/agents.js';
import { insertOrder, insertOrders, type OrderRow } from '../db/queries/orders.js';
import {
  addRunEvent,
  addRunEvents,
  endRun,
  findRunByNumber,
  markStageFired,
  setRunPhase,
  startRun,
} from '../db/queries/runs.js';

export interface Outgoing {
  readonly agentId: string;
  readonly orderId: string;
  readonly token: string;
  readonly host: string;
  readonly kind: OrderClaims['kind'];
}

export interface EffectContext {
  readonly db: Db;
  readonly policy: Policy | undefined;
  readonly signingKey: SigningKeyPair;
  readonly orderTtlMs: number;
  readonly logger: Logger;
  readonly now: number;
  /** Orders to send once committed. */
  readonly outgoing: Outgoing[];
  /** Lookups shared by the effects of one decision. */
  readonly cache: { runIds: Map<number, string>; agents?: Map<string, AgentRow> };
}

async function runIdOf(ctx: EffectContext, run: number): Promise<string> {
  const cached = ctx.cache.runIds.get(run);
  if (cached !== undefined) return cached;
  const row = await findRunByNumber(ctx.db, run);
  if (row === undefined) throw new Error(`run ${run} is not in the database`);
  ctx.cache.runIds.set(run, row.id);
  return row.id;
}

type OrderEffect = Extract<RunEffect, { kind: 'order' }>;

/**
 * A stage's shutdown orders, many at once: one agent lookup, signatures made in parallel, one insert
 * for the orders and one for their timeline entries. Same records as `applyEffect` one by one, in
 * the same order; a host with no enrolled agent is recorded as undeliverable, as there.
 */
export async function applyOrderEffects(
  ctx: EffectContext,
  effects: readonly OrderEffect[],
): Promise<string[]> {
  if (effects.length === 0) return [];
  if (ctx.cache.agents === undefined) {
    const active = (await listAgents(ctx.db)).filter((agent) => agent.status === 'active');
    ctx.cache.agents = new Map(active.map((agent) => [agent.name, agent]));
  }
  const agents = ctx.cache.agents;
  const at = new Date(ctx.now);
  const expiresAt = ctx.now + ctx.orderTtlMs;
  const prepared = await Promise.all(
    effects.map(async (effect) => {
      const runId = await runIdOf(ctx, effect.run);
      const agent = agents.get(effect.host);
      if (agent === undefined) return { effect, runId, agent: undefined, order: undefined };
      const orderId = randomId();
      const claims: OrderClaims = { kind: 'shutdown', runId, stage: effect.stage, drill: effect.drill };
      const token = await signOrder(ctx.signingKey, {
        orderId,
        agentId: agent.id,
        claims,
        now: ctx.now,
        expiresAt,
      });
      return {
        effect,
        runId,
        agent,
        order: {
          id: orderId,
          runId,
          agentId: agent.id,
          kind: 'shutdown' as const,
          host: effect.host,
          stage: effect.stage,
          drill: effect.drill,
          token,
          createdAt: at,
          expiresAt: new Date(expiresAt),
        },
      };
    }),
  );
  const stored = await insertOrders(
    ctx.db,
    prepared.flatMap((p) => (p.order === undefined ? [] : [p.order])),
  );
  let next = 0;
  const events: Parameters<typeof addRunEvents>[1][number][] = [];
  const lines: string[] = [];
  for (const { effect, runId, agent } of prepared) {
    if (agent === undefined) {
      ctx.logger.error(`no enrolled agent "${effect.host}": shutdown order for ${effect.host} not sent`, {
        stage: effect.stage,
      });
      events.push({
        runId,
        at,
        kind: 'order-undeliverable',
        stage: effect.stage,
        host: effect.host,
        detail: `no enrolled agent "${effect.host}"`,
      });
    } else {
      const order = stored[next++] as OrderRow;
      ctx.outgoing.push({
        agentId: agent.id,
        orderId: order.id,
        token: order.token,
        host: effect.host,
        kind: 'shutdown',
      });
    }
    events.push({
      runId,
      at,
      kind: 'order',
      stage: effect.stage,
      host: effect.host,
      ...(effect.drill ? { detail: 'drill' } : {}),
    });
    lines.push(`${effect.drill ? 'drill ' : ''}shutdown order for ${effect.host} (stage ${effect.stage})`);
  }
  await addRunEvents(ctx.db, events);
  return lines;
}

async function issue(
  ctx: EffectContext,
  runId: string,
  target: { agentName: string; host: string; stage: string; drill: boolean },
  claims: OrderClaims,
): Promise<void> {
  const agent = await findActiveAgentByName(ctx.db, target.agentName);
  if (agent === undefined) {
    ctx.logger.error(
      `no enrolled agent "${target.agentName}": ${claims.kind} order for ${target.host} not sent`,
      { stage: target.stage },
    );
    await addRunEvent(ctx.db, {
      runId,
      at: new Date(ctx.now),
      kind: 'order-undeliverable',
      stage: target.stage,
      host: target.host,
      detail: `no enrolled agent "${target.agentName}"`,
    });
    return;
  }
  const orderId = randomId();
  const expiresAt = ctx.now + ctx.orderTtlMs;
  const token = await signOrder(ctx.signingKey, {
    orderId,
    agentId: agent.id,
    claims,
    now: ctx.now,
    expiresAt,
  });
  const order = await insertOrder(ctx.db, {
    id: orderId,
    runId,
    agentId: agent.id,
    kind: claims.kind,
    host: target.host,
    stage: target.stage,
    drill: target.drill,
    token,
    createdAt: new Date(ctx.now),
    expiresAt: new Date(expiresAt),
  });
  ctx.outgoing.push({
    agentId: agent.id,
    orderId: order.id,
    token: order.token,
    host: target.host,
    kind: claims.kind,
  });
}

/** Records and carries out one effect; returns a log line for it. */
export async function applyEffect(ctx: EffectContext, effect: RunEffect): Promise<string> {
  const at = new Date(ctx.now);
  if (effect.kind === 'run-started') {
    const run = await startRun(ctx.db, {
      number: effect.run,
      kind: effect.runKind,
      reason: effect.reason,
      startedAt: at,
    });
    await addRunEvent(ctx.db, { runId: run.id, at, kind: effect.kind, detail: effect.reason });
    return `${effect.runKind === 'drill' ? 'drill' : 'run'} ${effect.run} started: ${effect.reason}`;
  }
  const runId = await runIdOf(ctx, effect.run);
  const event = (kind: string, fields: { stage?: string; host?: string; detail?: string } = {}) =>
    addRunEvent(ctx.db, { runId, at, kind, ...fields });
  switch (effect.kind) {
    case 'run-restoring':
    case 'run-resumed':
      await setRunPhase(ctx.db, runId, effect.kind === 'run-restoring' ? 'restoring' : 'active');
      await event(effect.kind, { detail: effect.reason });
      return `run ${effect.run} ${effect.kind === 'run-restoring' ? 'restoring' : 'resumed'}: ${effect.reason}`;
    case 'run-ended':
      await endRun(ctx.db, runId, at, effect.reason);
      await event(effect.kind, { detail: effect.reason });
      return `run ${effect.run} ended: ${effect.reason}`;
    case 'stage-fired':
      await markStageFired(ctx.db, runId, effect.stage);
      await event(effect.kind, { stage: effect.stage, detail: effect.reason });
      return `stage ${effect.stage} fired: ${effect.reason}`;
    case 'stage-waiting':
      await event(effect.kind, {
        stage: effect.stage,
        detail: `waiting for ${effect.waitingFor.join(', ')}`,
      });
      return `stage ${effect.stage} waits for ${effect.waitingFor.join(', ')}`;
    case 'stage-complete':
    case 'stage-cancelled':
      await event(effect.kind, {
        stage: effect.stage,
        ...(effect.kind === 'stage-cancelled' ? { detail: effect.reason } : {}),
      });
      return `stage ${effect.stage} ${effect.kind === 'stage-complete' ? 'complete' : 'cancelled'}`;
    case 'order':
      // Shutdown orders are issued in batches; one alone is a batch of one.
      return (await applyOrderEffects(ctx, [effect])).join('\n');
    case 'host-down':
      await event(effect.kind, { host: effect.host, detail: effect.how });
      return `${effect.host} down (${effect.how})`;
    case 'host-back':
    case 'host-missing':
      await event(effect.kind, { host: effect.host });
      return `${effect.host} ${effect.kind === 'host-back' ? 'is back' : 'did not come back'}`;
    case 'wake': {
      const wake = ctx.policy?.hosts.get(effect.host)?.wake;
      if (wake === undefined) {
        await event('wake-undeliverable', { host: effect.host, detail: 'no wake: settings in the policy' });
        return `${effect.host} cannot be woken: no wake settings`;
      }
      await issue(
        ctx,
        runId,
        { agentName: wake.via, host: effect.host, stage: `wake:${effect.host}`, drill: false },
        {
          kind: 'wake',
          runId,
          host: effect.host,
          mac: wake.mac,
          address: wake.address,
          port: wake.port,
        },
      );
      await event(effect.kind, { host: effect.host, detail: `via ${wake.via}` });
      return `waking ${effect.host} via ${wake.via}`;
    }
    case 'ups-power-off': {
      const ups = ctx.policy?.ups.get(effect.ups);
      if (ups?.powerOff === undefined) return `UPS ${effect.ups} has no power-off command`;
      await issue(
        ctx,
        runId,
        { agentName: ups.watcher, host: effect.ups, stage: `power-off:${effect.ups}`, drill: false },
        {
          kind: 'ups-power-off',
          runId,
          ups: effect.ups,
          command: ups.powerOff,
        },
      );
      await event(effect.kind, { host: effect.ups, detail: ups.powerOff });
      return `UPS ${effect.ups}: ${ups.powerOff} via ${ups.watcher}`;
    }
  }
}
