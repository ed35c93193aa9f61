/**
 * The `ups.status` vocabulary (NUT docs/new-drivers.txt "Status data"), shared by the agent and the
 * coordinator. Pure: words in, a typed reading out.
 *
 * Product rules, measured against the 718 dumps of the NUT Devices Dumps Library:
 * - `OL` means online even when `OB` is also present. Drivers report `OL OB` and `OL DISCHRG OB` on
 *   units that are on mains (flagged as driver bugs in the DDL), and a false shutdown is the failure
 *   users fear most. `conflicting` is set so that callers can log it.
 * - Otherwise `OB` means on battery. `DISCHRG` alone never does (the APC BK650M2-CH says `OL DISCHRG`
 *   on mains).
 * - Anything else (no words, `WAIT`, `OFF` or `TRIM` alone, null) is `unknown`, never battery.
 * - `FSD` counts wherever it appears; upsd prefixes it, drivers may append it.
 */

/** Where the load's power comes from; unknown is never on battery. */
export type PowerState = 'online' | 'battery' | 'unknown';

/** Tokens upsd and drivers emit that upsfleet understands. */
export const STATUS_TOKENS = [
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
  'ALARM',
  'WAIT',
] as const;
export type StatusToken = (typeof STATUS_TOKENS)[number];

/** Known and deliberately ignored: economy / high-efficiency mode (now `experimental.ups.mode.buzzwords`). */
export const IGNORED_STATUS_TOKENS = ['ECO', 'HE'] as const;

const KNOWN: ReadonlySet<string> = new Set<string>([...STATUS_TOKENS, ...IGNORED_STATUS_TOKENS]);

export function isKnownStatusToken(word: string): boolean {
  return KNOWN.has(word.toUpperCase());
}

export interface StatusInterpretation {
  readonly power: PowerState;
  /** LB */
  readonly lowBattery: boolean;
  /** FSD, anywhere in the words */
  readonly fsd: boolean;
  /** RB */
  readonly replaceBattery: boolean;
  /** CAL */
  readonly calibrating: boolean;
  /** OFF: the load is not powered */
  readonly off: boolean;
  readonly bypass: boolean;
  /** OVER */
  readonly overload: boolean;
  readonly trim: boolean;
  readonly boost: boolean;
  readonly alarm: boolean;
  /** Both OL and OB: a driver bug; read as online. */
  readonly conflicting: boolean;
  /** Words outside the known vocabulary, uppercased, deduplicated, in order of appearance. */
  readonly unknownWords: readonly string[];
}

/** `"ol  chrg "` → `['OL', 'CHRG']`: whitespace-separated, uppercased, no empty words. */
export function parseStatusWords(text: string): string[] {
  return text
    .split(/\s+/)
    .filter((word) => word !== '')
    .map((word) => word.toUpperCase());
}

function powerOf(words: ReadonlySet<string>): PowerState {
  if (words.has('OL')) return 'online';
  if (words.has('OB')) return 'battery';
  return 'unknown';
}

/** Reads status words (any case, as from `parseStatusWords` or a claim); null means no data. */
export function interpretStatus(words: readonly string[] | null): StatusInterpretation {
  const normalised = (words ?? []).flatMap(parseStatusWords);
  const set = new Set(normalised);
  return {
    power: powerOf(set),
    lowBattery: set.has('LB'),
    fsd: set.has('FSD'),
    replaceBattery: set.has('RB'),
    calibrating: set.has('CAL'),
    off: set.has('OFF'),
    bypass: set.has('BYPASS'),
    overload: set.has('OVER'),
    trim: set.has('TRIM'),
    boost: set.has('BOOST'),
    alarm: set.has('ALARM'),
    conflicting: set.has('OL') && set.has('OB'),
    unknownWords: [...set].filter((word) => !KNOWN.has(word)),
  };
}
