/**
 * `npm run bench -- [--quick] [--only FIGURE]`. The full run takes a few minutes; --quick is the CI
 * smoke: few trials, 100 agents instead of 10,000, shortened windows, so the harness never rots.
 */
import { parseArgs } from 'node:util';

export const FIGURES = [
  'power-loss',
  'fan-out',
  'intake',
  'footprint',
  'coordinator',
  'micro',
  'cli',
] as const;
export type Figure = (typeof FIGURES)[number];

/** How a figure's rows are labelled in the table: "1 power-loss". */
export function figureLabel(figure: Figure): string {
  return `${FIGURES.indexOf(figure) + 1} ${figure}`;
}

export interface BenchOptions {
  readonly quick: boolean;
  readonly only: ReadonlySet<Figure>;
  /** Fan-out sizes (simulated agents on one coordinator). */
  readonly agents: readonly number[];
  /** Overrides every figure's number of trials. */
  readonly trials: number | undefined;
  /** The databases of the fan-out figure's coordinators: both (the largest size on PostgreSQL) or one. */
  readonly database: 'pglite' | 'postgres' | 'both';
}

export const USAGE = `Usage: npm run bench -- [--quick] [--only FIGURE[,FIGURE...]]

Figures: ${FIGURES.map((figure, i) => `${i + 1} ${figure}`).join(', ')} (name or number).
  --quick        few trials, 100 simulated agents instead of 10,000 (the CI smoke; not for comparing)
  --only FIGURE  only these figures (repeat the flag or separate with commas)
  --agents N,N   fan-out sizes (default 1000,10000; 100 with --quick)
  --trials N     trials per measurement instead of each figure's own number
  --database DB  fan-out on pglite, postgres, or both (default: every size on PGlite, the largest
                 also on PostgreSQL; --quick: pglite)
`;

function toFigure(text: string): Figure {
  const byNumber = FIGURES[Number(text) - 1];
  if (/^\d+$/.test(text) && byNumber !== undefined) return byNumber;
  const figure = FIGURES.find((name) => name === text);
  if (figure === undefined) throw new Error(`unknown figure "${text}"\n\n${USAGE}`);
  return figure;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      agents: { type: 'string' },
      trials: { type: 'string' },
      database: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const named = (values.only ?? []).flatMap((text) => text.split(',')).filter((text) => text !== '');
  const agents = (values.agents ?? (values.quick ? '100' : '1000,10000')).split(',').map(Number);
  if (agents.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--agents: "${values.agents}" is not N[,N...]\n\n${USAGE}`);
  const trials = values.trials === undefined ? undefined : Number(values.trials);
  if (trials !== undefined && !(Number.isInteger(trials) && trials >= 1))
    throw new Error(`--trials: "${values.trials}" is not a number ≥ 1`);
  const database = values.database ?? (values.quick ? 'pglite' : 'both');
  if (database !== 'pglite' && database !== 'postgres' && database !== 'both')
    throw new Error(`--database: "${database}" is not pglite, postgres or both`);
  return {
    quick: values.quick,
    trials,
    database,
    only: new Set(named.length === 0 ? FIGURES : named.map(toFigure)),
    agents,
  };
}
