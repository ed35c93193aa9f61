import { formatDuration } from '../../../shared/src/duration.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { HostConfig } from '../config.js';
import {
  describeRunResult,
  type RunCommand,
  type RunOutcome,
  type RunResult,
  toRunOutcome,
} from '../shutdown-runner.js';
import type { ProgressFields } from './order-plan.js';

export type BeforeHook = HostConfig['before'][number];

/** How one hook went. */
export interface HookReport {
  readonly name: string;
  readonly outcome: RunOutcome;
  /** "exited 3", "was killed after 1m", "could not start: …" */
  readonly how: string;
}

export interface BeforeHookOptions {
  readonly run: RunCommand;
  /** Hands a progress frame to the link; returns at once. */
  readonly progress: (fields: ProgressFields) => void;
  readonly logger: Logger;
  /** For log lines. */
  readonly orderId: string;
}

/** The frame that ends a hook's step: a non-zero exit code, and the output (or why it did not start). */
function endOfStep(hook: BeforeHook, outcome: RunOutcome, result: RunResult): ProgressFields {
  const output = result.error === undefined ? result.output : describeRunResult(result, hook.timeout);
  return {
    step: hook.name,
    state: outcome,
    ...(result.exitCode === null || result.exitCode === 0 ? {} : { exitCode: result.exitCode }),
    ...(output === '' ? {} : { output }),
  };
}

/**
 * Runs the host's before hooks in order, each without a shell and bounded by its own timeout (TERM,
 * then KILL), reporting a `progress` frame as each starts and ends. A hook that fails or times out
 * is reported and logged, and the next one still runs: nothing here may keep the host from going down.
 */
export async function runBeforeHooks(
  hooks: readonly BeforeHook[],
  options: BeforeHookOptions,
): Promise<HookReport[]> {
  const { logger, orderId } = options;
  const reports: HookReport[] = [];
  for (const hook of hooks) {
    options.progress({ step: hook.name, state: 'started' });
    logger.info(
      `before hook ${hook.name}: running ${hook.run.join(' ')} (timeout ${formatDuration(hook.timeout)})`,
      { orderId },
    );
    const result = await options.run(hook.run, { timeoutMs: hook.timeout });
    const outcome = toRunOutcome(result);
    const how = describeRunResult(result, hook.timeout);
    options.progress(endOfStep(hook, outcome, result));
    if (outcome === 'succeeded') logger.info(`before hook ${hook.name} ${how}`, { orderId });
    else logger.error(`before hook ${hook.name} ${how}`, { orderId, output: result.output.slice(-200) });
    reports.push({ name: hook.name, outcome, how });
  }
  return reports;
}
