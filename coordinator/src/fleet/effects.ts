/**
 * Carries out the engine's effects inside the decision's transaction: runs and their timeline,
 * signed orders (shutdown, wake, UPS power-off). Every order goes through `issueOrders`, one path
 * for a stage's batch and for a single wake or power-off. Messages are only collected here; they are
 * sent after the transaction commits (`deliverOrders`), so a crash can never send an order the
 * database does not have.
 */
import type { Logger } from '../../../shared/src/logger.js';
import type { OrderClaims } from '../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { randomId, signOrder } from '../../../shared/src/tokens.js';
import type { RunEffect } from '../core/engine-state.js';
import type { Policy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import { listActiveAgentIds } from '../db/queries/agents.js';
import { insertOrders, markOrdersSent, type OrderRow } from '../db/queries/orders.js';
import {
  addRunEvent,
  addRunEvents,
  endRun,
  findRunByNumber,
  markStageFired,
  setRunPhase,
  startRun,
} from '../db/queries/runs.js';
import type { Hub } from '../ws/hub.js';

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
  readonly cache: { runIds: Map<number, string>; agents?: Map<string, OrderAgent> };
}

/** The database id of the engine's run `run`, looked up once per batch. */
export async function findRunId(
  db: Db,
  cache: Map<number, string> | undefined,
  run: number,
): Promise<string | undefined> {
  const cached = cache?.get(run);
  if (cached !== undefined) return cached;
  const row = await findRunByNumber(db, run);
  if (row !== undefined) cache?.set(run, row.id);
  return row?.id;
}

async function runIdOf(ctx: EffectContext, run: number): Promise<string> {
  const id = await findRunId(ctx.db, ctx.cache.runIds, run);
  if (id === undefined) throw new Error(`run ${run} is not in the database`);
  return id;
}

/** An agent orders go to: its id and name (its stored key is not read: one unreadable key stops no order). */
export interface OrderAgent {
  readonly id: string;
  readonly name: string;
}

async function activeAgents(ctx: EffectContext): Promise<Map<string, OrderAgent>> {
  if (ctx.cache.agents === undefined) {
    const active = await listActiveAgentIds(ctx.db);
    ctx.cache.agents = new Map(active.map((agent) => [agent.name, agent]));
  }
  return ctx.cache.agents;
}

type TimelineEntry = { kind: string; stage?: string; host?: string; detail?: string };

/** One order to issue: to whom, what it says, and the timeline entry that records it. */
export interface OrderRequest {
  readonly run: number;
  /** The agent that carries it out (the host's own, a wake relay, the UPS's watcher). */
  readonly agentName: string;
  /** The host shut down or woken, or the UPS powered off. */
  readonly host: string;
  readonly stage: string;
  readonly drill: boolean;
  readonly claims: (runId: string) => OrderClaims;
  /** Written after the order (and after its `order-undeliverable` entry, when no agent can take it). */
  readonly entry: TimelineEntry;
}

/**
 * Orders, many at once or one alone: one agent lookup, signatures made in parallel, one insert for
 * the orders and one for their timeline entries. A request whose agent is not enrolled is recorded
 * as undeliverable.
 */
export async function issueOrders(ctx: EffectContext, requests: readonly OrderRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const agents = await activeAgents(ctx);
  const at = new Date(ctx.now);
  const expiresAt = ctx.now + ctx.orderTtlMs;
  const prepared = await Promise.all(
    requests.map(async (request) => {
      const runId = await runIdOf(ctx, request.run);
      const agent = agents.get(request.agentName);
      if (agent === undefined) return { request, runId, agent: undefined, order: undefined };
      const orderId = randomId();
      const claims = request.claims(runId);
      const token = await signOrder(ctx.signingKey, {
        orderId,
        agentId: agent.id,
        claims,
        now: ctx.now,
        expiresAt,
      });
      return {
        request,
        runId,
        agent,
        order: {
          id: orderId,
          runId,
          agentId: agent.id,
          kind: claims.kind,
          host: request.host,
          stage: request.stage,
          drill: request.drill,
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
  for (const { request, runId, agent, order } of prepared) {
    if (agent === undefined || order === undefined) {
      const kind = request.claims(runId).kind;
      ctx.logger.error(
        `no enrolled agent "${request.agentName}": ${kind} order for ${request.host} not sent`,
        { stage: request.stage },
      );
      events.push({
        runId,
        at,
        kind: 'order-undeliverable',
        stage: request.stage,
        host: request.host,
        detail: `no enrolled agent "${request.agentName}"`,
      });
    } else {
      const row = stored[next++] as OrderRow;
      ctx.outgoing.push({
        agentId: agent.id,
        orderId: row.id,
        token: row.token,
        host: request.host,
        kind: order.kind,
      });
    }
    events.push({ runId, at, ...request.entry });
  }
  await addRunEvents(ctx.db, events);
}

type OrderEffect = Extract<RunEffect, { kind: 'order' }>;

/** A stage's shutdown orders (consecutive `order` effects of one decision); returns a log line each. */
export async function applyOrderEffects(
  ctx: EffectContext,
  effects: readonly OrderEffect[],
): Promise<string[]> {
  await issueOrders(
    ctx,
    effects.map((effect) => {
      // A host with no agent of its own, only a NUT client: its bridge shows it FSD.
      const bridge = ctx.policy?.hosts.get(effect.host)?.nut?.bridge;
      const { run, host, stage, drill } = effect;
      return {
        run,
        agentName: bridge ?? host,
        host,
        stage,
        drill,
        claims: (runId): OrderClaims =>
          bridge === undefined
            ? { kind: 'shutdown', runId, stage, drill }
            : { kind: 'nut-fsd', runId, stage, host, drill },
        entry: {
          kind: 'order',
          stage,
          host,
          ...(drill || bridge !== undefined
            ? {
                detail: [drill ? 'drill' : '', bridge ? `FSD via bridge ${bridge}` : '']
                  .filter(Boolean)
                  .join(', '),
              }
            : {}),
        },
      };
    }),
  );
  return effects.map(
    (effect) => `${effect.drill ? 'drill ' : ''}shutdown order for ${effect.host} (stage ${effect.stage})`,
  );
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
      await issueOrders(ctx, [
        {
          run: effect.run,
          agentName: wake.via,
          host: effect.host,
          stage: `wake:${effect.host}`,
          drill: false,
          claims: (id) => ({
            kind: 'wake',
            runId: id,
            host: effect.host,
            mac: wake.mac,
            address: wake.address,
            port: wake.port,
          }),
          entry: { kind: effect.kind, host: effect.host, detail: `via ${wake.via}` },
        },
      ]);
      return `waking ${effect.host} via ${wake.via}`;
    }
    case 'ups-power-off': {
      const ups = ctx.policy?.ups.get(effect.ups);
      if (ups?.powerOff === undefined) return `UPS ${effect.ups} has no power-off command`;
      const command = ups.powerOff;
      await issueOrders(ctx, [
        {
          run: effect.run,
          agentName: ups.watcher,
          host: effect.ups,
          stage: `power-off:${effect.ups}`,
          drill: false,
          claims: (id) => ({ kind: 'ups-power-off', runId: id, ups: effect.ups, command }),
          entry: { kind: effect.kind, host: effect.ups, detail: command },
        },
      ]);
      return `UPS ${effect.ups}: ${command} via ${ups.watcher}`;
    }
  }
}

/**
 * After commit: sends each order to its agent if connected, and records which were sent. Returns
 * the orders sent; the others wait for their agent's hello.
 */
export async function deliverOrders(
  deps: { readonly db: Db; readonly hub: Hub },
  orders: readonly Outgoing[],
  now: number,
): Promise<Outgoing[]> {
  const sent = orders.filter((order) => deps.hub.send(order.agentId, { type: 'order', token: order.token }));
  await markOrdersSent(
    deps.db,
    sent.map((order) => order.orderId),
    new Date(now),
  );
  return sent;
}
