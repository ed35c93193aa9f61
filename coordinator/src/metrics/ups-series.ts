/**
 * UPS readings → Prometheus series, the way nut_exporter names them: every numeric NUT variable as
 * its own gauge family (`battery.charge` → `upsfleet_ups_battery_charge{ups}`), and `ups.status` as
 * one 0/1 series per flag over a fixed set, so that `upsfleet_ups_status{flag="OB"} == 1` can be
 * alerted on before the UPS ever went on battery. Pure: readings in, series out.
 */
import type { PowerState } from '../../../shared/src/protocol.js';

/** One UPS as the coordinator last stored it (`ups_states`). */
export interface UpsStateReading {
  readonly ups: string;
  readonly power: PowerState;
  /** The `ups.status` words, or null when the state is unknown. */
  readonly status: readonly string[] | null;
  readonly vars: Readonly<Record<string, string>>;
  readonly observedAt: Date;
  readonly dead: boolean;
}

/** NUT's status words (docs/new-drivers.txt), always exported, 0 when absent (nut_exporter's default set). */
export const STANDARD_STATUS_FLAGS = [
  'OL',
  'OB',
  'LB',
  'HB',
  'RB',
  'CHRG',
  'DISCHRG',
  'BYPASS',
  'CAL',
  'OFF',
  'OVER',
  'TRIM',
  'BOOST',
  'FSD',
] as const;

export const POWER_STATES: readonly PowerState[] = ['online', 'battery', 'unknown'];

export const UPS_VARIABLE_PREFIX = 'upsfleet_ups_';

/** Families upsfleet itself defines under the variable prefix: a variable that maps onto one is left out. */
export const RESERVED_UPS_FAMILIES: ReadonlySet<string> = new Set([
  'upsfleet_ups_status',
  'upsfleet_ups_power',
  'upsfleet_ups_dead',
  'upsfleet_ups_last_update_seconds',
]);

/**
 * Label cardinality stays bounded even if a watcher misbehaves: the protocol caps status words (32
 * of ≤ 32 characters) but not the number of variables. Real drivers expose at most ~150 (NUT's
 * device dumps); past this many per UPS the rest (in name order) are not exported.
 */
export const MAX_VARIABLES_PER_UPS = 256;

const FLAG_WORD = /^[A-Z0-9][A-Z0-9_.-]{0,31}$/;
/** Decimal numbers as upsd prints them ("230.0", "-5", "1e3"); not "", "0x10", "Infinity", "12 V". */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `battery.charge` → `upsfleet_ups_battery_charge`; anything outside [a-zA-Z0-9_] becomes `_`. */
export function upsVariableMetricName(variable: string): string {
  return `${UPS_VARIABLE_PREFIX}${variable.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** The value as a number, or undefined when it is not a plain decimal (status words, serials, dates). */
export function parseNumericValue(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

export interface UpsSample<L extends string = never> {
  readonly labels: { readonly ups: string } & { readonly [K in L]: string };
  readonly value: number;
}

export interface UpsSeries {
  readonly status: readonly UpsSample<'flag'>[];
  readonly power: readonly UpsSample<'state'>[];
  readonly dead: readonly UpsSample[];
  /** When the watcher observed the last reading, Unix seconds (export the time, not the age). */
  readonly lastUpdate: readonly UpsSample[];
  /** Metric family name → the NUT variable it came from, and one sample per UPS reporting it as a number. */
  readonly variables: ReadonlyMap<string, UpsVariableFamily>;
}

export interface UpsVariableFamily {
  readonly variable: string;
  readonly samples: readonly UpsSample[];
}

/**
 * Series for the UPSes in `known` (the policy's): a reading for any other name is left out, so an
 * enrolled agent reporting made-up UPS names cannot grow the label set. A known UPS never heard of
 * yet still shows `power{state="unknown"} 1`.
 */
export function toUpsSeries(readings: readonly UpsStateReading[], known: ReadonlySet<string>): UpsSeries {
  const status: UpsSample<'flag'>[] = [];
  const power: UpsSample<'state'>[] = [];
  const dead: UpsSample[] = [];
  const lastUpdate: UpsSample[] = [];
  const variables = new Map<string, { variable: string; samples: UpsSample[] }>();
  const byName = new Map(readings.map((reading) => [reading.ups, reading]));

  for (const ups of [...known].sort()) {
    const reading = byName.get(ups);
    const current = reading?.power ?? 'unknown';
    for (const state of POWER_STATES)
      power.push({ labels: { ups, state }, value: state === current ? 1 : 0 });
    if (reading === undefined) continue;

    const words = new Set((reading.status ?? []).map((word) => word.toUpperCase()));
    const flags = [...STANDARD_STATUS_FLAGS, ...[...words].filter((word) => FLAG_WORD.test(word))];
    for (const flag of new Set(flags)) status.push({ labels: { ups, flag }, value: words.has(flag) ? 1 : 0 });
    dead.push({ labels: { ups }, value: reading.dead ? 1 : 0 });
    lastUpdate.push({ labels: { ups }, value: reading.observedAt.getTime() / 1000 });

    const seen = new Set<string>();
    for (const variable of Object.keys(reading.vars).sort()) {
      if (seen.size >= MAX_VARIABLES_PER_UPS) break;
      const value = parseNumericValue(reading.vars[variable] ?? '');
      const name = upsVariableMetricName(variable);
      // Two spellings of one name (`a.b`, `a_b`) on one UPS: the first in name order wins.
      if (value === undefined || RESERVED_UPS_FAMILIES.has(name) || seen.has(name)) continue;
      seen.add(name);
      const family = variables.get(name) ?? { variable, samples: [] };
      family.samples.push({ labels: { ups }, value });
      variables.set(name, family);
    }
  }
  return { status, power, dead, lastUpdate, variables };
}
