import type { Logger } from '../../../shared/src/logger.js';
import type { HostConfig } from '../config.js';
import type { ShutdownLatch } from '../fallback/shutdown-latch.js';
import { describeRunResult, type RunCommand, toRunOutcome } from '../shutdown-runner.js';
import { runBeforeHooks } from './before-hooks.js';
import {
  accept,
  type FinalResult,
  type OrderDecision,
  type OrderOf,
  type OrderReport,
  refuse,
} from './order-plan.js';
import type { ProgramCheck } from './program-check.js';
import { drillShutdown } from './shutdown-drill.js';

/** What a host needs to carry out shutdown orders. */
export interface ShutdownAbility {
  readonly config: HostConfig;
  readonly run: RunCommand;
  /** For drills: whether argv[0] of each hook and of the shutdown would start. */
  readonly checkProgram: (program: string) => Promise<ProgramCheck>;
  readonly logger: Logger;
  /** Whether the host already went down (on its own, or by an order): a real shutdown runs once. */
  readonly latch?: ShutdownLatch;
  /** For drills: what the host reads from upsd itself, in words. */
  readonly ownReading?: () => string;
}

/**
 * The before hooks in order, then the shutdown argv. A hook that fails or times out is reported and
 * the shutdown still runs: a host left up because a container would not stop loses power uncleanly.
 */
async function shutdown(
  orderId: string,
  ability: ShutdownAbility,
  report: OrderReport,
): Promise<FinalResult> {
  const { config, logger } = ability;
  const hooks = await runBeforeHooks(config.before, {
    run: ability.run,
    progress: (fields) => report.progress(fields),
    logger,
    orderId,
  });
  const failed = hooks.filter((hook) => hook.outcome !== 'succeeded');
  if (failed.length > 0) {
    const which = failed.map((hook) => `${hook.name} ${hook.how}`).join(', ');
    const line = `${failed.length} of ${hooks.length} before hooks did not succeed (${which}); shutting down anyway`;
    logger.warn(line, { orderId });
  }
  // After hooks, the step marks where they end in the run's timeline; alone, `started` says it all.
  if (hooks.length > 0) report.progress({ step: 'shutdown', state: 'started' });
  // Recorded before the command runs: an agent killed by it (or during it) never runs it again.
  await report.result({ outcome: 'started' });
  ability.latch?.markOrder(`the coordinator's order ${orderId} already ran the shutdown`);
  const result = await ability.run(config.shutdown, { timeoutMs: config.shutdownTimeout });
  const ok = toRunOutcome(result) === 'succeeded';
  const how = describeRunResult(result, config.shutdownTimeout);
  if (ok) logger.info(`shutdown command ${how}`, { orderId });
  else logger.error(`shutdown command ${how}`, { orderId, output: result.output.slice(-200) });
  return {
    outcome: ok ? 'succeeded' : 'failed',
    exitCode: result.exitCode,
    signal: result.signal,
    output: result.output,
    ...(result.error === undefined ? {} : { error: result.error }),
  };
}

/** A shutdown order runs this host's own before hooks and shutdown command; a drill order only checks them. */
export function planShutdown(order: OrderOf<'shutdown'>, ability: ShutdownAbility): OrderDecision {
  const { orderId, claims } = order;
  const down = claims.drill ? undefined : ability.latch?.ownReason();
  if (down !== undefined) return refuse(`already shut down: ${down}`);
  const count = ability.config.before.length;
  const hooks = count === 0 ? '' : `${count} before hook${count === 1 ? '' : 's'}, then `;
  const what = claims.drill
    ? 'drill, not running anything'
    : `running ${hooks}${ability.config.shutdown.join(' ')}`;
  return accept({
    summary: `stage ${claims.stage}, run ${claims.runId}, ${what}`,
    recordAs: claims.drill ? 'drill' : 'accepted',
    // Refusing would leave the host to lose power uncleanly, which is worse than a possible repeat.
    whenUnrecorded: 'proceed',
    // An agent killed during its before hooks must still take its host down (a drill is recorded as done).
    whenInterrupted: 'resume',
    act: (report) => (claims.drill ? drillShutdown(orderId, ability) : shutdown(orderId, ability, report)),
  });
}
