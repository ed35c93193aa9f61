/**
 * `npm run bench`: upsfleet's figures beside NUT's, printed as one Markdown table. It asserts
 * nothing (speed belongs here, not in tests); test/bench-smoke.test.ts only checks that every figure
 * still prints. Figures are from this machine at this moment: compare runs on one machine only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../coordinator/src/db/client.js';
import { errorMessage } from '../../shared/src/errors.js';
import { type BenchContext, createDataDirFactory, type FigureRunner } from './context.js';
import { runAgentFootprint } from './fig-agent-footprint.js';
import { runCliStart } from './fig-cli-start.js';
import { runCoordinatorStart } from './fig-coordinator-start.js';
import { runEventIntake } from './fig-event-intake.js';
import { runFanOut } from './fig-fan-out.js';
import { runMicro } from './fig-micro.js';
import { runPowerLoss } from './fig-power-loss.js';
import { formatGoals } from './goals.js';
import { describeMachine } from './machine.js';
import { FIGURES, type Figure, figureLabel, parseBenchArgs, USAGE } from './options.js';
import { closeAllScopes, createScope } from './scope.js';
import { formatTable, type Row } from './table.js';

/**
 * --quick lanes, run at the same time, of about equal length; the two figures that start a upsd
 * (power-loss, footprint) are in different lanes.
 */
const QUICK_LANES: readonly (readonly Figure[])[] = [
  ['power-loss'],
  ['fan-out', 'intake'],
  ['footprint', 'coordinator', 'micro', 'cli'],
];

const RUNNERS: Record<Figure, FigureRunner> = {
  'power-loss': runPowerLoss,
  'fan-out': runFanOut,
  intake: runEventIntake,
  footprint: runAgentFootprint,
  coordinator: runCoordinatorStart,
  micro: runMicro,
  cli: runCliStart,
};

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = parsed;
  const began = performance.now();
  const log = (message: string) =>
    process.stderr.write(`bench +${((performance.now() - began) / 1000).toFixed(1)}s: ${message}\n`);
  const runScope = createScope();
  const context: BenchContext = {
    options,
    log,
    embeddedDataDir: createDataDirFactory(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'upsfleet-bench-template-'));
      runScope.defer(`template ${dir}`, () => rm(dir, { recursive: true, force: true }));
      const database = await openDatabase({ kind: 'pglite', dataDir: dir });
      await database.close();
      return dir;
    }),
  };
  const machine = describeMachine();
  log(`${machine}${options.quick ? ' — quick mode' : ''}`);
  const results = new Map<Figure, Row[]>();
  const measure = async (figure: Figure): Promise<void> => {
    const start = performance.now();
    log(`figure ${figureLabel(figure)}…`);
    try {
      results.set(figure, await RUNNERS[figure](context));
      log(`figure ${figureLabel(figure)} done in ${((performance.now() - start) / 1000).toFixed(0)} s`);
    } catch (error) {
      log(
        `figure ${figure} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      const value = `FAILED: ${errorMessage(error)}`;
      results.set(figure, [
        { figure: figureLabel(figure), measurement: 'could not be measured', value, unit: '' },
      ]);
    }
  };
  const wanted = FIGURES.filter((figure) => options.only.has(figure));
  try {
    // --quick (the CI smoke) runs its lanes at once to fit its time budget; its figures are not for
    // comparing anyway. A full run measures one figure at a time.
    const lanes = options.quick
      ? QUICK_LANES.map((lane) => lane.filter((f) => options.only.has(f)))
      : [wanted];
    await Promise.all(
      lanes.map(async (lane) => {
        for (const figure of lane) await measure(figure);
      }),
    );
  } finally {
    await runScope.close();
  }
  const rows = wanted.flatMap((figure) => results.get(figure) ?? []);
  const seconds = ((performance.now() - began) / 1000).toFixed(0);
  process.stdout.write(
    `\nupsfleet bench${options.quick ? ' (--quick: few trials, not for comparing)' : ''} — ${machine}\n` +
      'Values: median [spread] n=trials; the spread is p10–p90 from 10 trials on, min–max below.\n\n' +
      `${formatTable(rows)}\n\nGoals (issue 12's table and SPEC's bars) against this run:\n\n` +
      `${formatGoals(rows)}\n\n(${seconds} s; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end)\n`,
  );
  return rows.some((row) => typeof row.value === 'string' && row.value.startsWith('FAILED')) ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}: cleaning up\n`);
    void closeAllScopes().finally(() => process.exit(130));
  });
}

process.exitCode = await main();
