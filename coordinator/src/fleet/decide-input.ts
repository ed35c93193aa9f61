/**
 * One decision, inside a batch (group-commit.ts): decide in memory, on the batch's copy of the
 * state, then record the effects and the notifications in the batch's transaction, within a
 * savepoint of their own. A decision that fails part-way fails its whole batch (its copy of the
 * state is no longer what the database holds). The orders it issued are sent, the timer re-armed
 * and the hosts briefed only after the batch commits.
 */
import { decideInPlace, type EngineInput, type EngineState, toDraft } from '../core/engine.js';
import type { Effect as EngineEffect } from '../core/engine-state.js';
import type { NotificationFact } from '../notify/facts.js';
import { deadUpses, factsFromEffects, factsFromSilence } from '../notify/from-engine.js';
import type { Batch, FleetContext } from './context.js';
import { applyEffect, applyOrderEffects, type Outgoing } from './effects.js';

function batchOf(fleet: FleetContext): Batch {
  if (fleet.batch === undefined) throw new Error('an engine input was decided outside a batch');
  return fleet.batch;
}

/**
 * `notify` adds facts (a UPS event's) that need the state after the decision; they are written in
 * the same transaction as the decision.
 */
export async function decideInput(
  fleet: FleetContext,
  input: EngineInput,
  notify?: (after: EngineState, now: number) => NotificationFact[],
): Promise<void> {
  const batch = batchOf(fleet);
  const { deps } = fleet;
  const now = deps.clock.now();
  const wasDrill = fleet.state.run?.kind === 'drill';
  const policy = fleet.policy;
  // The batch's copy of the state, made by its first decision; the committed state is never changed.
  batch.draft ??= toDraft(fleet.state);
  const draft = batch.draft;
  const deadBefore = deadUpses(draft as EngineState);
  // Changed in place from here: a failure before the end leaves the batch unable to commit.
  batch.broken = true;
  const decision = {
    state: draft as EngineState,
    effects: decideInPlace(policy, draft, input, now, fleet.connections),
  };
  const outgoing: Outgoing[] = [];
  const lines: string[] = [];
  let wake: number | undefined;
  const facts =
    deps.notifier === undefined
      ? []
      : [
          ...(notify?.(decision.state, now) ?? []),
          ...factsFromSilence(deadBefore, decision.state, now),
          ...factsFromEffects(decision.effects, {
            at: now,
            drill: decision.state.run === undefined ? wasDrill : decision.state.run.kind === 'drill',
          }),
        ];
  // Most inputs (an ack, a reading that changes nothing) have nothing to record but the state.
  const recordable = facts.length > 0 || decision.effects.some((effect) => effect.kind !== 'wake-at');
  if (!recordable) wake = decision.effects.find((effect) => effect.kind === 'wake-at')?.at;
  else
    await fleet.db.transaction(async (tx) => {
      const ctx = {
        db: tx,
        policy,
        signingKey: deps.signingKey,
        orderTtlMs: deps.orderTtlMs,
        logger: deps.logger,
        now,
        outgoing,
        cache: { runIds: batch.runIds },
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
      if (facts.length > 0) await deps.notifier?.publish(tx, facts, now);
    });
  fleet.state = decision.state;
  batch.broken = false;
  batch.outgoing.push(...outgoing);
  batch.lines.push(...lines);
  batch.wake = wake;
  batch.decided = true;
  batch.notified ||= facts.length > 0;
}
