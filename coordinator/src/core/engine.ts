/**
 * The policy engine: a pure function `decide(policy, state, input, now) → { state, effects }`.
 * No I/O and no timers: time comes in as `now`, and the engine asks to be called again with a
 * `wake-at` effect. The shell (fleet/fleet.ts) stores and carries out the effects.
 */
import type { PowerState } from '../../../shared/src/protocol.js';
import { hostsOfStageOnUps, type Policy } from './policy.js';

export interface UpsPower {
  readonly power: PowerState;
  /** When `power` took its current value (ms). */
  readonly since: number;
}

/** An outage of one UPS in progress. */
export interface RunState {
  readonly startedAt: number;
  readonly firedStages: readonly string[];
}

export interface EngineState {
  readonly ups: Readonly<Record<string, UpsPower>>;
  /** Active runs, by UPS name. */
  readonly runs: Readonly<Record<string, RunState>>;
}

export const emptyState: EngineState = { ups: {}, runs: {} };

export type EngineInput =
  | { readonly kind: 'power'; readonly ups: string; readonly power: PowerState; readonly at: number }
  /** Time passed (a wake-up) or the policy changed: re-evaluate. */
  | { readonly kind: 'tick' };

export type Effect =
  | { readonly kind: 'start-run'; readonly ups: string; readonly at: number }
  | {
      readonly kind: 'fire-stage';
      readonly ups: string;
      readonly stage: string;
      readonly hosts: readonly string[];
    }
  | { readonly kind: 'end-run'; readonly ups: string; readonly reason: 'power-restored' }
  | { readonly kind: 'wake-at'; readonly at: number };

export interface Decision {
  readonly state: EngineState;
  readonly effects: readonly Effect[];
}

export function decide(
  policy: Policy | undefined,
  state: EngineState,
  input: EngineInput,
  now: number,
): Decision {
  const effects: Effect[] = [];
  let ups = state.ups;
  let runs = state.runs;

  if (input.kind === 'power') {
    const previous = ups[input.ups];
    if (previous?.power !== input.power) {
      const since = Math.min(input.at, now);
      ups = { ...ups, [input.ups]: { power: input.power, since } };
      if (input.power === 'battery' && runs[input.ups] === undefined) {
        runs = { ...runs, [input.ups]: { startedAt: since, firedStages: [] } };
        effects.push({ kind: 'start-run', ups: input.ups, at: since });
      } else if (input.power === 'online' && runs[input.ups] !== undefined) {
        const { [input.ups]: _ended, ...rest } = runs;
        runs = rest;
        effects.push({ kind: 'end-run', ups: input.ups, reason: 'power-restored' });
      }
    }
  }

  let nextWake: number | undefined;
  if (policy !== undefined) {
    for (const [upsName, run] of Object.entries(runs)) {
      const power = ups[upsName];
      // Unknown is never read as on battery: the on-battery clock only counts while OB is seen.
      if (power?.power !== 'battery') continue;
      const fired = [...run.firedStages];
      for (const stage of policy.stages) {
        if (fired.includes(stage.name)) continue;
        const hosts = hostsOfStageOnUps(policy, stage, upsName);
        if (hosts.length === 0) continue;
        // Counted from the start of the outage: a data-stale blip in the middle (battery → unknown →
        // battery) must not restart the clock, as it does not in upsmon/upssched.
        const due = run.startedAt + stage.trigger.onBattery;
        if (now >= due) {
          fired.push(stage.name);
          effects.push({ kind: 'fire-stage', ups: upsName, stage: stage.name, hosts });
        } else {
          nextWake = nextWake === undefined ? due : Math.min(nextWake, due);
        }
      }
      if (fired.length !== run.firedStages.length)
        runs = { ...runs, [upsName]: { ...run, firedStages: fired } };
    }
  }
  if (nextWake !== undefined) effects.push({ kind: 'wake-at', at: nextWake });
  return { state: { ups, runs }, effects };
}
