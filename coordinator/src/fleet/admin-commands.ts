/** What an admin asks of the fleet: apply a policy, fire a stage, start a drill. Each inside a batch (group-commit.ts). */
import { ConflictError } from '../../../shared/src/errors.js';
import type { Policy } from '../core/policy.js';
import { findActiveAgentByName } from '../db/queries/agents.js';
import { insertPolicy } from '../db/queries/policies.js';
import type { FleetContext } from './context.js';
import { decideInput } from './decide-input.js';

/** Stores and applies a parsed policy; returns its warnings (e.g. hosts not enrolled yet). */
export async function applyPolicy(
  fleet: FleetContext,
  parsed: Policy,
  document: unknown,
  appliedBy: string,
): Promise<{ policy: Policy; warnings: string[] }> {
  const { clock, logger } = fleet.deps;
  const db = fleet.db;
  await insertPolicy(db, document, appliedBy, new Date(clock.now()));
  fleet.policy = parsed;
  const warnings = [...parsed.warnings];
  for (const [host, entry] of parsed.hosts) {
    const bridge = entry.nut?.bridge;
    const enrolled = await findActiveAgentByName(db, bridge ?? host);
    if (enrolled === undefined)
      warnings.push(
        bridge === undefined
          ? `host "${host}" has no enrolled agent yet: it cannot receive orders until it enrolls`
          : `host "${host}" is served by NUT bridge "${bridge}", which has no enrolled agent yet`,
      );
  }
  logger.info('policy applied', {
    by: appliedBy,
    stages: parsed.stages.length,
    hosts: parsed.hosts.size,
    warnings: warnings.length,
  });
  for (const warning of warnings) logger.warn(`policy: ${warning}`);
  await decideInput(fleet, { kind: 'tick' });
  fleet.batch?.afterCommit.push(() => fleet.briefings.policyApplied(parsed, fleet.state.ups));
  return { policy: parsed, warnings };
}

/** An admin fires a manual stage (starts a run if none is active). */
export async function fireStage(fleet: FleetContext, stage: string): Promise<void> {
  const { policy, state } = fleet;
  if (policy?.stages.some((s) => s.name === stage) !== true)
    throw new ConflictError(`no stage "${stage}" in the policy`);
  if (state.run?.kind === 'drill')
    throw new ConflictError('a drill is in progress: fire the stage after it ends');
  if (state.run?.phase === 'restoring') {
    throw new ConflictError('power is back and the run is restoring: a stage fired now would be ignored');
  }
  await decideInput(fleet, { kind: 'manual', stage });
}

/** Starts a fleet-wide drill; refused while a run is active. Returns the run number. */
export async function startDrill(fleet: FleetContext): Promise<number> {
  if (fleet.policy === undefined) throw new ConflictError('no policy has been applied yet');
  const active = fleet.state.run;
  if (active !== undefined) throw new ConflictError(`run ${active.number} is in progress: no drill now`);
  await decideInput(fleet, { kind: 'start-drill' });
  const started = fleet.state.run;
  if (started === undefined) throw new ConflictError('the drill did not start');
  return started.number;
}
