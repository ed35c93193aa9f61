/**
 * Facts from what the coordinator already has: a watcher's UPS event, the engine's effects of one
 * decision, and which stage a UPS on battery brings closer. Pure; the fleet shell calls these and
 * hands the facts to `notifier.publish` inside the decision's transaction.
 */
import type { NotifyEvent } from '../../../shared/src/protocol.js';
import type { Effect, EngineState } from '../core/engine-state.js';
import type { Policy } from '../core/policy.js';
import { onBattery, threatened } from '../core/triggers.js';
import { type RunFact, type UpsFact, upsKindOf } from './facts.js';

function reading(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** The kinds a person wants to know the next stage with. */
const WITH_NEXT_STAGE = new Set(['onbatt', 'lowbatt', 'fsd', 'dead']);

/**
 * One fact per notify event in a watcher's report, plus `dead` when the dead-UPS verdict is new
 * (`wasDead`: what the coordinator knew before this report).
 */
export function factsFromUpsEvent(
  claims: {
    readonly ups: string;
    readonly events: readonly NotifyEvent[];
    readonly status: readonly string[] | null;
    readonly vars: Readonly<Record<string, string>>;
    readonly dead: boolean;
  },
  context: {
    readonly at: number;
    readonly wasDead: boolean;
    readonly nextStage?: { readonly name: string; readonly inMs: number } | undefined;
  },
): UpsFact[] {
  const kinds = claims.events.map(upsKindOf);
  if (claims.dead && !context.wasDead) kinds.push('dead');
  const charge = reading(claims.vars['battery.charge']);
  const runtime = reading(claims.vars['battery.runtime']);
  return kinds.map((kind) => ({
    kind,
    ups: claims.ups,
    at: context.at,
    status: claims.status,
    ...(charge === undefined ? {} : { charge }),
    ...(runtime === undefined ? {} : { runtime }),
    ...(context.nextStage !== undefined && WITH_NEXT_STAGE.has(kind) ? { nextStage: context.nextStage } : {}),
  }));
}

/** The UPSes counted dead now: give it the state before a decision, for `factsFromSilence`. */
export function deadUpses(state: EngineState): ReadonlySet<string> {
  return new Set(Object.entries(state.ups).flatMap(([name, view]) => (view.dead ? [name] : [])));
}

/**
 * `silent` for each UPS the engine counted dead in this decision without a fresh reading: its
 * watcher went quiet while the UPS was last on battery (the dead-UPS deadline). Raised once: the
 * verdict holds until the watcher reports again.
 */
export function factsFromSilence(deadBefore: ReadonlySet<string>, after: EngineState, at: number): UpsFact[] {
  return Object.entries(after.ups).flatMap(([ups, view]) =>
    view.dead && !deadBefore.has(ups) && view.lastSeen !== at
      ? [{ kind: 'silent' as const, ups, at, status: null }]
      : [],
  );
}

/**
 * The first stage an on-battery delay will fire because of this UPS: among stages not fired yet,
 * with an `onBattery` trigger and a host this UPS endangers (MINSUPPLIES counted). Call it with the
 * state after the decision, so that the UPS's battery time has started.
 */
export function nextStageFor(
  policy: Policy,
  state: EngineState,
  ups: string,
  now: number,
): { name: string; inMs: number } | undefined {
  const view = state.ups[ups];
  if (!onBattery(view) || view?.batterySince === undefined) return undefined;
  let next: { name: string; inMs: number } | undefined;
  for (const stage of policy.stages) {
    const status = state.run?.stages[stage.name]?.status;
    if (status === 'fired' || status === 'complete' || stage.trigger.onBattery === undefined) continue;
    const endangered = stage.hosts.some((name) => {
      const host = policy.hosts.get(name);
      return host?.ups.includes(ups) === true && threatened(host, state.ups);
    });
    if (!endangered) continue;
    const inMs = Math.max(0, view.batterySince + stage.trigger.onBattery - now);
    if (next === undefined || inMs < next.inMs) next = { name: stage.name, inMs };
  }
  return next;
}

/**
 * The facts in one decision's effects. A stage's hosts are the orders it issued in the same
 * decision. `drill`: the run is a drill (the run-started effect says so itself).
 */
export function factsFromEffects(
  effects: readonly Effect[],
  context: { readonly at: number; readonly drill: boolean },
): RunFact[] {
  const facts: RunFact[] = [];
  const { at } = context;
  for (const effect of effects) {
    const base = { at, run: 'run' in effect ? effect.run : 0, drill: context.drill };
    switch (effect.kind) {
      case 'run-started':
        facts.push({
          ...base,
          kind: 'run-started',
          drill: effect.runKind === 'drill',
          reason: effect.reason,
        });
        break;
      case 'stage-fired': {
        const hosts = effects.flatMap((other) =>
          other.kind === 'order' && other.run === effect.run && other.stage === effect.stage
            ? [other.host]
            : [],
        );
        facts.push({ ...base, kind: 'stage-fired', stage: effect.stage, reason: effect.reason, hosts });
        break;
      }
      case 'host-down':
        facts.push({ ...base, kind: 'host-down', host: effect.host, how: effect.how });
        break;
      case 'host-missing':
      case 'wake':
        facts.push({ ...base, kind: effect.kind, host: effect.host });
        break;
      case 'run-restoring':
      case 'run-resumed':
        facts.push({ ...base, kind: effect.kind, reason: effect.reason });
        break;
      case 'run-ended':
        facts.push({ ...base, kind: 'run-ended', reason: effect.reason });
        break;
      case 'ups-power-off':
        facts.push({ ...base, kind: 'ups-power-off', ups: effect.ups });
        break;
      case 'stage-waiting':
      case 'stage-complete':
      case 'stage-cancelled':
      case 'order':
      case 'host-back':
      case 'wake-at':
        break;
    }
  }
  return facts;
}
