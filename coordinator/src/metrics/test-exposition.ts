/**
 * For tests: a strict parser of the Prometheus text format (0.0.4), so that a test reads a scrape
 * the way Prometheus would, and a malformed line, a duplicate TYPE or a sample before its family's
 * TYPE fails the test instead of being skipped.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Family name → counter, gauge, histogram, … */
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = new RegExp(`^(${NAME})="((?:[^"\\\\]|\\\\.)*)"`);
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

function unescapeLabel(text: string): string {
  return text.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const match = LABEL.exec(rest);
    if (match === null) throw new Error(`bad labels in: ${line}`);
    const [whole, key = '', value = ''] = match;
    if (key in labels) throw new Error(`duplicate label ${key} in: ${line}`);
    labels[key] = unescapeLabel(value);
    rest = rest.slice(whole.length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest !== '') throw new Error(`bad labels in: ${line}`);
  }
  return labels;
}

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case; prom-client writes "Nan". */
function parseValue(text: string, line: string): number {
  if (/^\+?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, keyword, name = '', rest = ''] = meta;
      const target = keyword === 'TYPE' ? types : help;
      if (target.has(name)) throw new Error(`second ${keyword} for ${name}`);
      if (keyword === 'TYPE' && samples.some((sample) => familyOf(sample.name, types) === name))
        throw new Error(`TYPE for ${name} after its samples`);
      target.set(name, rest);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`bad sample line: ${line}`);
    const [, name = '', labels, value = ''] = match;
    samples.push({ name, labels: parseLabels(labels ?? '', line), value: parseValue(value, line) });
  }
  return { types, help, samples };
}

function familyOf(name: string, types: ReadonlyMap<string, string>): string {
  const base = name.replace(HISTOGRAM_SUFFIX, '');
  return base !== name && types.get(base) === 'histogram' ? base : name;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The samples of one metric name (for a histogram: `x_bucket`, `x_sum`, `x_count`). */
export function samplesOf(exposition: Exposition, name: string): Sample[] {
  return exposition.samples.filter((sample) => sample.name === name);
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return exposition.samples.find((sample) => sample.name === name && sameLabels(sample.labels, labels))
    ?.value;
}
