/**
 * The one table `npm run bench` prints: Markdown, so that it pastes into RESULTS.md and the README
 * as it is. Each row is one figure's measurement, upsfleet beside its NUT peer where there is one.
 */
import type { Summary } from './stats.js';

export type Value = Summary | number | string | undefined;

export interface Row {
  /** The figure it belongs to: its key first ("power-loss", "fan-out", ...), as `--only` takes it. */
  readonly figure: string;
  readonly measurement: string;
  readonly value: Value;
  readonly unit: string;
  readonly peer?: Value;
  /** upsfleet's median over the peer's; shown as "0.04×". */
  readonly ratio?: number;
  readonly note?: string;
  /** Names the row for a goal in goals.ts ("fan-out-10000-last"); most rows have none. */
  readonly key?: string;
}

function round(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatValue(value: Value, unit: string): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return `${round(value)} ${unit}`;
  return `${round(value.median)} ${unit} [${round(value.low)}–${round(value.high)}] n=${value.n}`;
}

export function medianOf(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  if (value === undefined || typeof value === 'string') return undefined;
  return value.median;
}

/** upsfleet over the peer, when both are numbers. */
export function ratioOf(ours: Value, theirs: Value): number | undefined {
  const a = medianOf(ours);
  const b = medianOf(theirs);
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

const cell = (text: string) => text.replaceAll('|', '/');

export function formatTable(rows: readonly Row[]): string {
  const header = ['figure', 'measurement', 'upsfleet', 'NUT peer', 'ratio', 'notes'];
  const lines = rows.map((row) => [
    row.figure,
    row.measurement,
    formatValue(row.value, row.unit),
    row.peer === undefined ? '' : formatValue(row.peer, row.unit),
    row.ratio === undefined ? '' : `${row.ratio < 0.1 ? row.ratio.toFixed(3) : row.ratio.toFixed(2)}×`,
    row.note ?? '',
  ]);
  const table = [header, header.map(() => '---'), ...lines];
  return table.map((line) => `| ${line.map(cell).join(' | ')} |`).join('\n');
}
