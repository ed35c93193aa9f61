/**
 * upsmon's notify events (NUT.md 1b/1c; clients/upsmon.c `parse_status`, `ups_on_*`, `ups_is_*`),
 * derived without I/O or timers: `deriveEvents(state, reading, now)` → `{ state, events, dead }`.
 *
 * - A reading is `ok` (the status words and variables upsd served) or `unknown` (DATA-STALE,
 *   DRIVER-NOT-CONNECTED, WAIT, lost connection, …). An unknown reading is a failed poll: it never
 *   yields ONBATT or LOWBATT and keeps the last known status. As in upsmon, an `ok` reading with no
 *   status words counts as failed too, and so does one with upsd's `WAIT` placeholder.
 * - Power follows `interpretStatus` (OL wins over a conflicting OB). ONBATT fires on the change to
 *   battery, including on the first reading (upsmon starts from no flags). ONLINE fires only when the
 *   line was last seen on battery, so never for the first reading.
 * - LOWBATT fires when LB appears. upsmon has no NOTLOWBATT: LB going away emits nothing, and LB
 *   coming back fires LOWBATT again. FSD fires once per appearance (upsd's latch repeats it).
 * - CAL, OFF, BYPASS, OVER, TRIM, BOOST and ALARM fire when the token appears, NOT* when it goes.
 * - REPLBATT while RB is present, at most once per `rbWarnMs` (the window is not reset when RB goes).
 * - COMMBAD at the first failed reading after a good one; COMMOK at the good reading after that (not
 *   on the first connect). NOCOMM once there has been no good reading for `nocommWarnMs` (counted from
 *   the first reading if there never was a good one), then again every `nocommWarnMs`.
 * - Dead UPS: last seen on battery and no good reading for longer than `deadTimeMs` → `dead` (upsmon
 *   promotes it to OB+LB). It holds until the next good reading.
 */
import {
  interpretStatus,
  parseStatusWords,
  type StatusInterpretation,
} from '../../../shared/src/nut-status.js';
import type { NotifyEvent } from '../../../shared/src/protocol.js';

export type UnknownReason =
  | 'data-stale'
  | 'driver-not-connected'
  | 'wait'
  | 'connection'
  | 'access-denied'
  | 'unknown-ups'
  | 'error';

export type Reading =
  | { readonly kind: 'ok'; readonly status: string[]; readonly vars: Record<string, string> }
  | { readonly kind: 'unknown'; readonly reason: UnknownReason; readonly detail?: string };

export interface WatchOptions {
  /** upsmon DEADTIME. Default 15 s. */
  readonly deadTimeMs?: number;
  /** upsmon NOCOMMWARNTIME. Default 300 s. */
  readonly nocommWarnMs?: number;
  /** upsmon RBWARNTIME. Default 43 200 s. */
  readonly rbWarnMs?: number;
}

export const DEFAULT_WATCH_OPTIONS: Required<WatchOptions> = Object.freeze({
  deadTimeMs: 15_000,
  nocommWarnMs: 300_000,
  rbWarnMs: 43_200_000,
});

/** Small and JSON-serialisable, so a watcher can persist it. Times are ms since the epoch. */
export interface WatchState {
  /** The time of the first reading; NOCOMM counts from it while there never was a good reading. */
  readonly startedAt: number | null;
  /** `never` until the first good reading; `lost` after COMMBAD. */
  readonly comm: 'never' | 'ok' | 'lost';
  readonly lastGoodAt: number | null;
  /** OL or OB from the last good reading that said either (upsmon's linestate); null before. */
  readonly line: 'online' | 'battery' | null;
  /** The words of the last good reading, uppercased; kept through failed readings. */
  readonly status: readonly string[] | null;
  readonly lastNocommAt: number | null;
  readonly lastReplbattAt: number | null;
  readonly dead: boolean;
}

export const initialWatchState: WatchState = Object.freeze({
  startedAt: null,
  comm: 'never',
  lastGoodAt: null,
  line: null,
  status: null,
  lastNocommAt: null,
  lastReplbattAt: null,
  dead: false,
});

export interface DerivedEvents {
  readonly state: WatchState;
  readonly events: NotifyEvent[];
  /** The dead-UPS verdict after this reading; compare with the previous state's to see the change. */
  readonly dead: boolean;
}

type Flag = 'calibrating' | 'off' | 'bypass' | 'overload' | 'trim' | 'boost' | 'alarm';

/** Token flags with an event when they appear and another when they go, in the order they are emitted. */
const PAIRED: readonly (readonly [Flag, NotifyEvent, NotifyEvent])[] = [
  ['calibrating', 'CAL', 'NOTCAL'],
  ['off', 'OFF', 'NOTOFF'],
  ['bypass', 'BYPASS', 'NOTBYPASS'],
  ['overload', 'OVER', 'NOTOVER'],
  ['trim', 'TRIM', 'NOTTRIM'],
  ['boost', 'BOOST', 'NOTBOOST'],
  ['alarm', 'ALARM', 'NOTALARM'],
];

export function deriveEvents(
  state: WatchState,
  reading: Reading,
  now: number,
  options: WatchOptions = {},
): DerivedEvents {
  const settings = { ...DEFAULT_WATCH_OPTIONS, ...options };
  const current = state.startedAt === null ? { ...state, startedAt: now } : state;
  const words = reading.kind === 'ok' ? reading.status.flatMap(parseStatusWords) : [];
  if (words.length === 0 || words.includes('WAIT')) return failedReading(current, now, settings);
  return goodReading(current, words, now, settings);
}

function goodReading(
  state: WatchState,
  words: readonly string[],
  now: number,
  settings: Required<WatchOptions>,
): DerivedEvents {
  const before: StatusInterpretation = interpretStatus(state.status);
  const after = interpretStatus(words);
  const events: NotifyEvent[] = [];
  if (state.comm === 'lost') events.push('COMMOK');
  if (after.power === 'battery' && state.line !== 'battery') events.push('ONBATT');
  if (after.power === 'online' && state.line === 'battery') events.push('ONLINE');
  if (after.lowBattery && !before.lowBattery) events.push('LOWBATT');
  if (after.fsd && !before.fsd) events.push('FSD');
  for (const [flag, appears, disappears] of PAIRED) {
    if (after[flag] && !before[flag]) events.push(appears);
    else if (!after[flag] && before[flag]) events.push(disappears);
  }
  let lastReplbattAt = state.lastReplbattAt;
  if (after.replaceBattery && (lastReplbattAt === null || now - lastReplbattAt >= settings.rbWarnMs)) {
    events.push('REPLBATT');
    lastReplbattAt = now;
  }
  const next: WatchState = {
    ...state,
    comm: 'ok',
    lastGoodAt: now,
    line: after.power === 'unknown' ? state.line : after.power,
    status: [...words],
    lastNocommAt: null,
    lastReplbattAt,
    dead: false,
  };
  return { state: next, events, dead: false };
}

function failedReading(state: WatchState, now: number, settings: Required<WatchOptions>): DerivedEvents {
  const events: NotifyEvent[] = [];
  if (state.comm === 'ok') events.push('COMMBAD');
  const silentSince = state.lastGoodAt ?? state.startedAt ?? now;
  let lastNocommAt = state.lastNocommAt;
  const warnDue = lastNocommAt === null || now - lastNocommAt >= settings.nocommWarnMs;
  if (now - silentSince >= settings.nocommWarnMs && warnDue) {
    events.push('NOCOMM');
    lastNocommAt = now;
  }
  const silentTooLong = state.lastGoodAt !== null && now - state.lastGoodAt > settings.deadTimeMs;
  const dead = state.dead || (state.line === 'battery' && silentTooLong);
  const next: WatchState = {
    ...state,
    comm: state.comm === 'ok' ? 'lost' : state.comm,
    lastNocommAt,
    dead,
  };
  return { state: next, events, dead };
}
