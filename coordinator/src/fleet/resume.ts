/**
 * Resuming after a restart: the stored policy and engine state are loaded, and the stored UPS
 * states are fed again (in case the last decision was lost) before the engine re-evaluates.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import { type EngineState, initialEngineState } from '../core/engine.js';
import { type Policy, parsePolicy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import { loadEngineState } from '../db/queries/engine-state.js';
import { latestPolicy } from '../db/queries/policies.js';
import { listUpsStates } from '../db/queries/ups-events.js';
import type { FleetContext } from './context.js';
import { decideInput } from './decide-input.js';
import { upsInput } from './inputs.js';

/** After a restart with a run in progress, stages wait this long for fresh readings before firing. */
export const RESUME_SETTLE_MS = 15_000;

/** The policy and engine state a (re)started coordinator carries on from. */
export async function loadStored(deps: {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly resumeSettleMs?: number;
}): Promise<{ policy: Policy | undefined; state: EngineState }> {
  const stored = await latestPolicy(deps.db);
  const policy = stored === undefined ? undefined : parsePolicy(stored.document);
  const saved = await loadEngineState(deps.db);
  if (saved === undefined) return { policy, state: initialEngineState };
  // After a restart, stages wait a moment for fresh readings (the watcher's queued backlog, agents
  // reconnecting) rather than fire on what was true before the coordinator went down.
  const state: EngineState = {
    ...saved,
    ...(saved.run === undefined
      ? {}
      : { holdUntil: deps.clock.now() + (deps.resumeSettleMs ?? RESUME_SETTLE_MS) }),
  };
  if (state.run !== undefined)
    deps.logger.info('resuming the active run from the database', { run: state.run.number });
  return { policy, state };
}

/** Feeds the stored UPS states to the engine (the coordinator's clock, as for live events), then a tick. */
export async function resume(fleet: FleetContext): Promise<void> {
  const { clock, logger } = fleet.deps;
  const states = await listUpsStates(fleet.db, {
    // One unreadable row must not keep the run from resuming: that UPS waits for its next event.
    unreadable: (ups, error) =>
      logger.error(`UPS ${ups}: its stored state is not fed again on resuming`, { error: error.message }),
  });
  for (const row of states) {
    if (fleet.policy?.ups.has(row.ups) !== true) continue;
    const input = upsInput(
      {
        status: row.status,
        vars: row.vars,
        dead: row.dead,
        observedAt: row.observedAt.getTime(),
      },
      row.ups,
    );
    await decideInput(fleet, { ...input, at: clock.now() });
  }
  await decideInput(fleet, { kind: 'tick' });
}
