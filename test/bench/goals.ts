/**
 * The goals `npm run bench` is held to (issue 12's table, SPEC's bars), each printed with the figure
 * it is measured by and whether this run met it. A goal whose figure was not measured in this run
 * (--only, --quick sizes) says so. Asserts nothing: it is a second table under the first.
 */
import { formatValue, medianOf, type Row } from './table.js';

interface Goal {
  readonly figure: string;
  readonly goal: string;
  /** The rows that measure it, by key, with a label when there are several; all must pass. */
  readonly keys: Readonly<Record<string, string>>;
  readonly met: (row: Row) => boolean;
  /** What to print instead of the value (a ratio, say). */
  readonly show?: (row: Row) => string;
}

const atMost = (limit: number) => (row: Row) => (medianOf(row.value) ?? Number.POSITIVE_INFINITY) <= limit;
const below = (limit: number) => (row: Row) => (medianOf(row.value) ?? Number.POSITIVE_INFINITY) < limit;
const atLeast = (limit: number) => (row: Row) => (medianOf(row.value) ?? 0) >= limit;
const ratio = (row: Row) => (row.ratio === undefined ? 'no ratio' : `${row.ratio.toFixed(2)}× upsmon's time`);

export const GOALS: readonly Goal[] = [
  {
    figure: '10,000 agents connected (PGlite and PostgreSQL)',
    goal: 'all 10,000 in ≤ 30 s',
    keys: { 'connect-10000-pglite': 'PGlite', 'connect-10000-postgres': 'PostgreSQL' },
    met: atMost(30),
  },
  {
    figure: 'stage order → last of 10,000 agents holds its verified order',
    goal: '< 1 s',
    keys: { 'fan-out-10000-pglite': 'PGlite', 'fan-out-10000-postgres': 'PostgreSQL' },
    met: below(1_000),
  },
  {
    figure: 'signed event intake, 100 watchers, PostgreSQL',
    goal: '≥ 5,000 events/s',
    keys: { 'intake-100-postgres': '' },
    met: atLeast(5_000),
  },
  {
    figure: 'signed event intake, 100 watchers, PGlite',
    goal: '≥ 2,000 events/s',
    keys: { 'intake-100-pglite': '' },
    met: atLeast(2_000),
  },
  {
    figure: 'acknowledgements recorded after a 1,000-host fan-out',
    goal: '≥ 5,000 acks/s',
    keys: { 'acks-1000-pglite': 'PGlite', 'acks-1000-postgres': 'PostgreSQL' },
    met: atLeast(5_000),
  },
  {
    figure: 'power loss → last of 1,000 hosts holds its verified order (pollInterval 1s)',
    goal: '≤ 1,050 ms median (poll interval + 50 ms)',
    keys: { 'power-loss-last-1000': '' },
    met: atMost(1_050),
  },
  {
    figure: 'same settings as upsmon (POLLFREQ 1, FINALDELAY 0 vs pollInterval 1s), to the shutdown command',
    goal: '≥ 2× faster than upsmon (ratio ≤ 0.50)',
    keys: { 'equal-settings-FSD': 'FSD', 'equal-settings-OB LB': 'OB LB' },
    met: (row) => row.ratio !== undefined && row.ratio <= 0.5,
    show: ratio,
  },
  {
    figure: 'embedded coordinator, first start → ready',
    goal: '≤ 2 s',
    keys: { 'first-start-pglite': '' },
    met: atMost(2_000),
  },
  {
    figure: 'embedded coordinator, first start: RSS when ready',
    goal: '≤ 400 MiB',
    keys: { 'first-start-rss-pglite': '' },
    met: atMost(400),
  },
  {
    figure: 'admin command start, `upsfleet status` (installed bundle) spawn → exit',
    goal: '≤ 200 ms (issue 15)',
    keys: { 'cli-start-status': '' },
    met: atMost(200),
  },
  {
    figure: 'agent idle RSS, polling upsd at 1 Hz',
    goal: '≤ 40 MiB',
    keys: { 'agent-idle-rss': '' },
    met: atMost(40),
  },
];

const cell = (text: string) => text.replaceAll('|', '/');

/** The goals table: one line per goal, with every row measuring it. */
export function formatGoals(rows: readonly Row[]): string {
  const lines = GOALS.map((goal) => {
    const keys = Object.keys(goal.keys);
    const found = rows.filter((row) => row.key !== undefined && keys.includes(row.key));
    const shown = found.map((row) => {
      const label = goal.keys[row.key ?? ''] ?? '';
      return `${goal.show?.(row) ?? formatValue(row.value, row.unit)}${label === '' ? '' : ` (${label})`}`;
    });
    const verdict =
      found.length === 0
        ? 'not measured in this run'
        : found.every(goal.met) && found.length === keys.length
          ? 'met'
          : found.every(goal.met)
            ? 'met where measured'
            : 'NOT met';
    return [goal.figure, shown.join('; ') || '—', goal.goal, verdict];
  });
  const header = ['goal (issue 12, SPEC)', 'this run', 'goal', 'verdict'];
  return [header, header.map(() => '---'), ...lines].map((l) => `| ${l.map(cell).join(' | ')} |`).join('\n');
}
