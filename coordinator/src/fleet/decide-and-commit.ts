/**
 * One decision: decide → in one transaction record the effects, the new engine state and the
 * notifications → after commit, send the orders, re-arm the timer and brief the hosts whose power
 * changed. Must run inside the serial queue.
 */
import { decide, type EngineInput, type EngineState } from '../core/engine.js';
import type { Effect as EngineEffect } from '../core/engine-state.js';
import { saveEngineState } from '../db/queries/engine-state.js';
import type { NotificationFact } from '../notify/facts.js';
import { factsFromEffects } from '../notify/from-engine.js';
import type { FleetContext } from './context.js';
import { applyEffect, applyOrderEffects, deliverOrders, type Outgoing } from './effects.js';

/**
 * `notify` adds facts (a UPS event's) that need the state after the decision; they are written in
 * the same transaction as the decision.
 */
export async function decideAndCommit(
  fleet: FleetContext,
  input: EngineInput,
  notify?: (after: EngineState, now: number) => NotificationFact[],
): Promise<void> {
  const { deps } = fleet;
  const { db, logger } = deps;
  const now = deps.clock.now();
  const before = fleet.state;
  const decision = decide(fleet.policy, before, input, now);
  const outgoing: Outgoing[] = [];
  const lines: string[] = [];
  let wake: number | undefined;
  const policy = fleet.policy;
  await db.transaction(async (tx) => {
    const ctx = {
      db: tx,
      policy,
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
      const drill = (decision.state.run ?? before.run)?.kind === 'drill';
      const facts = [
        ...(notify?.(decision.state, now) ?? []),
        ...factsFromEffects(decision.effects, { at: now, drill }),
      ];
      if (facts.length > 0) await deps.notifier.publish(tx, facts, now);
    }
  });
  fleet.state = decision.state;
  deps.notifier?.kick();
  for (const order of outgoing) deps.metrics?.orderIssued(order.kind);
  for (const line of lines) logger.warn(line);
  const sent = await deliverOrders(deps, outgoing, now);
  for (const order of outgoing) {
    if (!sent.includes(order))
      logger.warn('agent not connected: the order waits for it', {
        host: order.host,
        order: order.orderId,
      });
  }
  fleet.timer.schedule(wake);
  await fleet.briefings.powerChanged(fleet.policy, before.ups, fleet.state.ups);
}
