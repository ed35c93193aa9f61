import type { Logger } from '../../../shared/src/logger.js';
import type { HostConfig } from '../config.js';
import type { FinalResult } from './order-plan.js';
import type { ProgramCheck } from './program-check.js';

export interface DrillAbility {
  readonly config: Pick<HostConfig, 'before' | 'shutdown'>;
  /** Whether argv[0] would start, as spawn would find it. */
  readonly checkProgram: (program: string) => Promise<ProgramCheck>;
  readonly logger: Logger;
  /** What the host reads from upsd itself (`host.upsd:`), in words. */
  readonly ownReading?: () => string;
}

/** One line of the drill report: what would run, and whether it could. */
interface DrillLine {
  /** "before stop-app: " for a hook, "" for the shutdown command. */
  readonly label: string;
  readonly text: string;
  readonly problem: string | undefined;
}

async function checkArgv(label: string, argv: readonly string[], ability: DrillAbility): Promise<DrillLine> {
  const program = argv[0];
  const check: ProgramCheck =
    program === undefined ? { ok: false, message: 'the argv is empty' } : await ability.checkProgram(program);
  return {
    label,
    text: `${label}would run: ${argv.join(' ')} — ${check.message}`,
    problem: check.ok ? undefined : check.message,
  };
}

/**
 * A drill runs nothing: for every before hook and then the shutdown command, it checks that the
 * program exists and is executable, exactly as the real shutdown would find it, and reports each
 * check (one line each in the output; every failed check in the error).
 */
export async function drillShutdown(orderId: string, ability: DrillAbility): Promise<FinalResult> {
  const { config, logger } = ability;
  const lines: DrillLine[] = [];
  for (const hook of config.before) lines.push(await checkArgv(`before ${hook.name}: `, hook.run, ability));
  lines.push(await checkArgv('', config.shutdown, ability));
  const problems: string[] = [];
  for (const line of lines) {
    if (line.problem === undefined) {
      logger.info(`drill: ${line.text}`, { orderId });
    } else {
      logger.warn(`drill: ${line.text}`, { orderId });
      problems.push(`${line.label}${line.problem}`);
    }
  }
  // Whether the host reads its UPS itself, and what it sees: what it would go by on its own.
  const own = ability.ownReading?.();
  if (own !== undefined) logger.info(`drill: ${own}`, { orderId });
  const output = [...(own === undefined ? [] : [own]), ...lines.map((line) => line.text)].join('\n');
  return problems.length === 0
    ? { outcome: 'drill', output }
    : { outcome: 'drill', output, error: problems.join('; ') };
}
