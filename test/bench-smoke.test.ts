/**
 * `npm run bench -- --quick`, the short version of the benchmark, still runs end to end: every
 * figure prints its rows with a number, and the NUT peer's number beside upsfleet's where the
 * figure has one. How fast anything was is never asserted (speed belongs to the bench itself).
 */
import { afterAll, expect, it } from 'vitest';
import { GOALS } from './bench/goals.js';
import { FIGURES, figureLabel } from './bench/options.js';
import { postgresMissingReason } from './bench/postgres.js';
import { upsmonMissingReason } from './bench/upsmon.js';
import { spawnNpm, type WatchedProcess } from './helpers/processes.js';
import { describeRequiring } from './helpers/requirements.js';
import { upsdMissingReason } from './helpers/upsd.js';

const missing = upsdMissingReason() ?? upsmonMissingReason() ?? (await postgresMissingReason());

interface TableRow {
  readonly figure: string;
  readonly measurement: string;
  readonly upsfleet: string;
  readonly peer: string;
  readonly ratio: string;
}

/** The body rows of the figures table (the first one; the goals table follows it). */
function tableRows(lines: readonly string[]): TableRow[] {
  const goalsAt = lines.findIndex((line) => line.startsWith('Goals'));
  return lines
    .slice(0, goalsAt === -1 ? lines.length : goalsAt)
    .filter((line) => line.startsWith('| ') && !line.startsWith('| figure |') && !line.startsWith('| --- |'))
    .map((line) => {
      const [figure = '', measurement = '', upsfleet = '', peer = '', ratio = ''] = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      return { figure, measurement, upsfleet, peer, ratio };
    });
}

const NUMBER = /^\d[\d,]*(\.\d+)? /;

describeRequiring('npm run bench -- --quick', missing, () => {
  let bench: WatchedProcess | undefined;
  afterAll(async () => {
    await bench?.stop();
  });

  it('prints every figure with numbers, each beside its NUT peer where it has one', async () => {
    bench = spawnNpm('bench', ['run', 'bench', '--', '--quick']);
    const code = await bench.exited;
    const output = bench.lines.slice(-60).join('\n');
    const rows = tableRows(bench.lines);

    for (const figure of FIGURES) {
      const own = rows.filter((row) => row.figure === figureLabel(figure));
      expect(own.length, `no row for ${figure}:\n${output}`).toBeGreaterThan(0);
      for (const row of own) expect(row.upsfleet, `${row.figure}: ${row.measurement}`).toMatch(NUMBER);
    }
    // The peer's figure and the ratio, beside upsfleet's: both upsmon paths and upsmon's memory.
    const compared = rows.filter((row) => row.peer !== '');
    expect(compared.map((row) => row.measurement)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^FSD raised at upsd/),
        expect.stringMatching(/^OL → OB LB at upsd/),
        expect.stringMatching(/RSS/),
      ]),
    );
    for (const row of compared) {
      expect(row.peer, `${row.figure}: ${row.measurement}`).toMatch(NUMBER);
    }
    for (const row of compared.filter((r) => /shutdown command ran|RSS/.test(r.measurement))) {
      expect(row.ratio, `${row.figure}: ${row.measurement}`).toMatch(/^\d+(\.\d+)?×$/);
    }
    // Every goal of issue 12's table, with what this run measured for it (or why not).
    const goalLines = bench.lines.slice(bench.lines.findIndex((line) => line.startsWith('Goals')));
    for (const goal of GOALS) {
      const line = goalLines.find((l) => l.startsWith(`| ${goal.figure} |`));
      expect(line, `goal "${goal.figure}":\n${output}`).toMatch(
        /\| (met|met where measured|NOT met|not measured in this run) \|$/,
      );
    }
    expect(code, output).toBe(0);
  }, 300_000);
});
