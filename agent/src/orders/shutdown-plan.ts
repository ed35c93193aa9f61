import { formatDuration } from '../../../shared/src/duration.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { HostConfig } from '../config.js';
import type { RunCommand } from '../shutdown-runner.js';
import { accept, type FinalResult, type OrderDecision, type OrderOf } from './order-plan.js';
import type { ProgramCheck } from './program-check.js';

/** What a host needs to carry out shutdown orders. */
export interface ShutdownAbility {
  readonly config: HostConfig;
  readonly run: RunCommand;
  /** For drills: whether argv[0] would start. */
  readonly checkProgram: (program: string) => Promise<ProgramCheck>;
  readonly logger: Logger;
}

/** A drill runs nothing: it reports what would run and whether argv[0] would start. */
async function drill(orderId: string, ability: ShutdownAbility): Promise<FinalResult> {
  const argv = ability.config.shutdown;
  const wouldRun = `would run: ${argv.join(' ')}`;
  const program = argv[0];
  const check: ProgramCheck =
    program === undefined ? { ok: false, message: 'the argv is empty' } : await ability.checkProgram(program);
  if (check.ok) {
    ability.logger.info(`drill: ${wouldRun} — ${check.message}`, { orderId });
    return { outcome: 'drill', output: `${wouldRun} — ${check.message}` };
  }
  ability.logger.warn(`drill: ${wouldRun}, but ${check.message}`, { orderId });
  return { outcome: 'drill', output: wouldRun, error: check.message };
}

async function shutdown(
  orderId: string,
  ability: ShutdownAbility,
  progress: (result: { outcome: 'started' }) => Promise<void>,
): Promise<FinalResult> {
  const { config, logger } = ability;
  await progress({ outcome: 'started' });
  const result = await ability.run(config.shutdown, { timeoutMs: config.shutdownTimeout });
  const ok = result.exitCode === 0 && !result.timedOut && result.error === undefined;
  const how =
    result.error !== undefined
      ? `could not start: ${result.error}`
      : result.timedOut
        ? `was killed after ${formatDuration(config.shutdownTimeout)}`
        : result.exitCode !== null
          ? `exited ${result.exitCode}`
          : `was killed by ${result.signal}`;
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

/** A shutdown order runs this host's own configured command; a drill order only checks it. */
export function planShutdown(order: OrderOf<'shutdown'>, ability: ShutdownAbility): OrderDecision {
  const { orderId, claims } = order;
  const what = claims.drill ? 'drill, not running anything' : `running ${ability.config.shutdown.join(' ')}`;
  return accept({
    summary: `stage ${claims.stage}, run ${claims.runId}, ${what}`,
    recordAs: claims.drill ? 'drill' : 'accepted',
    // Refusing would leave the host to lose power uncleanly, which is worse than a possible repeat.
    whenUnrecorded: 'proceed',
    act: (progress) => (claims.drill ? drill(orderId, ability) : shutdown(orderId, ability, progress)),
  });
}
