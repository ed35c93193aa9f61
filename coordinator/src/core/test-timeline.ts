/**
 * Test support for the engine: a fake clock that feeds inputs at explicit times and ticks at every
 * `wake-at` moment in between, as the fleet shell's single timer does (the last decision's wake-at
 * replaces the previous one; a decision without one leaves no timer). Every decision gets a
 * deep-frozen state, so a mutation throws; with `persist`, the state also goes through JSON between
 * decisions, as the database stores it. No vitest here: the tests assert.
 */
import { interpretStatus } from '../../../shared/src/nut-status.js';
import { decide } from './engine.js';
import {
  applyConnection,
  type Effect,
  type EngineInput,
  type EngineState,
  initialEngineState,
} from './engine-state.js';
import { parseEngineState } from './engine-state-schema.js';
import type { Policy } from './policy.js';

export const S = 1_000;
export const M = 60_000;
/** Time zero of every timeline. */
export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
/** T0 plus `seconds`. */
export const t = (seconds: number): number => T0 + seconds * S;

/** An effect and the moment it was produced. */
export type Timed = readonly [at: number, effect: Effect];

/** Freezes an object graph in place, so that any write throws (ES modules run in strict mode). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The state as it comes back from the database (JSON: undefined members vanish). */
/** As a restarted coordinator reads it: stored as JSON, parsed with the stored state's schema. */
export function throughJson(state: EngineState): EngineState {
  return parseEngineState(JSON.parse(JSON.stringify(state)));
}

/**
 * A UPS reading from NUT status words, e.g. `ups('ups-a', 'OB LB', t(30), { charge: 40 })`.
 * `dead` is upsmon's verdict (usually with no status: ''); runtime is in seconds, as NUT says it.
 */
export function ups(
  name: string,
  status: string,
  at: number,
  values: { charge?: number; runtime?: number; dead?: boolean } = {},
): EngineInput {
  const words = interpretStatus(status === '' ? null : [status]);
  return {
    kind: 'ups',
    ups: name,
    power: words.power,
    lowBattery: words.lowBattery,
    fsd: words.fsd,
    dead: values.dead ?? false,
    charge: values.charge,
    runtime: values.runtime === undefined ? undefined : values.runtime * S,
    at,
  };
}

export const tick: EngineInput = { kind: 'tick' };
export const connected = (host: string): EngineInput => ({ kind: 'host-connected', host });
export const disconnected = (host: string): EngineInput => ({ kind: 'host-disconnected', host });
export const report = (
  host: string,
  what: Extract<EngineInput, { kind: 'order-report' }>['report'],
): EngineInput => ({ kind: 'order-report', host, report: what });

export interface TimelineOptions {
  readonly state?: EngineState;
  /** Round-trip the state through JSON before every decision. */
  readonly persist?: boolean;
}

export interface Timeline {
  readonly state: EngineState;
  readonly now: number;
  /** The pending timer: the last decision's wake-at, if it asked for one. */
  readonly wakeAt: number | undefined;
  /** Every effect so far, wake-at included, in order. */
  readonly log: readonly Timed[];
  /** Ticks at each due wake-up up to `at`, then decides `input` at `at`; returns this span's effects. */
  feed(at: number, input: EngineInput): Timed[];
  /** Ticks at each due wake-up up to and including `at`; returns this span's effects. */
  advance(at: number): Timed[];
}

const MAX_TICKS = 100_000;

export function createTimeline(policy: Policy | undefined, options: TimelineOptions = {}): Timeline {
  let state = options.state ?? initialEngineState;
  let now = Number.NEGATIVE_INFINITY;
  let wakeAt: number | undefined;
  const log: Timed[] = [];
  /** Connections are the caller's to keep (the shell's, in the coordinator); a restart starts without. */
  const connections = new Map<string, boolean>();

  function step(at: number, input: EngineInput, out: Timed[]): void {
    if (at < now) throw new Error(`time went backwards: ${at} after ${now}`);
    now = at;
    const given = deepFreeze(options.persist === true ? throughJson(state) : state);
    const decision = decide(policy, given, deepFreeze(structuredClone(input)), at, connections);
    applyConnection(connections, input);
    state = decision.state;
    wakeAt = undefined;
    for (const effect of decision.effects) {
      if (effect.kind === 'wake-at') wakeAt = effect.at;
      out.push([at, effect]);
      log.push([at, effect]);
    }
  }

  function advance(at: number): Timed[] {
    const out: Timed[] = [];
    for (let ticks = 0; wakeAt !== undefined && wakeAt <= at; ticks++) {
      if (ticks >= MAX_TICKS) throw new Error(`more than ${MAX_TICKS} wake-ups before ${at}`);
      step(wakeAt, tick, out);
    }
    return out;
  }

  return {
    get state() {
      return state;
    },
    get now() {
      return now;
    },
    get wakeAt() {
      return wakeAt;
    },
    log,
    feed(at, input) {
      const out = advance(at);
      step(at, input, out);
      return out;
    },
    advance,
  };
}

/** Only the effects of these kinds (e.g. to follow orders through a long timeline). */
export function only(log: readonly Timed[], ...kinds: readonly Effect['kind'][]): Timed[] {
  return log.filter(([, effect]) => kinds.includes(effect.kind));
}

/** The log without its wake-at effects. */
export function withoutWakes(log: readonly Timed[]): Timed[] {
  return log.filter(([, effect]) => effect.kind !== 'wake-at');
}

/** One line per effect, `t+SECONDSs kind {fields}`, for failure messages. */
export function describeLog(log: readonly Timed[]): string {
  return log
    .map(([at, { kind, ...rest }]) => `  t+${(at - T0) / S}s ${kind} ${JSON.stringify(rest)}`)
    .join('\n');
}
