/**
 * `policy plan`: runs the real engine (`decide`) with a fake clock over a synthetic outage and
 * reports what each stage and host would see. Pure: the simulated hosts are data, nothing is sent.
 */
import { formatDuration } from '../../../shared/src/duration.js';
import { decide } from './engine.js';
import {
  applyConnection,
  type EngineInput,
  type EngineState,
  initialEngineState,
  type RunEffect,
} from './engine-state.js';
import { type HostOfflineRules, offlineRulesOf } from './offline-rule.js';
import {
  type PlanOptions,
  type Scenario,
  scenarioReadings,
  type UpsChange,
  upsChanges,
} from './plan-scenario.js';
import type { Policy } from './policy.js';

export type { PlanOptions, Scenario, ScenarioInput } from './plan-scenario.js';
export { DEFAULT_LOW_BATTERY, parsePlanOptions, parseScenario, ScenarioError } from './plan-scenario.js';

export interface PlanHost {
  readonly host: string;
  /** The stage that ordered it, or else the first stage that lists it. */
  stage?: string;
  orderedAt?: number;
  /** Why its stage fired. */
  reason?: string;
  downAt?: number;
  downHow?: 'confirmed' | 'grace-expired' | 'drill' | 'offline';
  /** Every UPS feeding it died while it was still running. */
  powerLostAt?: number;
  wokenAt?: number;
  backAt?: number;
  missingAt?: number;
}

export interface PlanStage {
  readonly name: string;
  firedAt?: number;
  reason?: string;
  completedAt?: number;
  cancelledAt?: number;
}

export interface PlanUpsEvent {
  readonly at: number;
  readonly ups: string;
  readonly what: UpsChange;
  readonly charge: number | undefined;
  readonly runtime: number | undefined;
}

export interface PlanResult {
  readonly scenario: Scenario['kind'];
  readonly horizonMs: number;
  /** When the run ended, and why; undefined when it was still going at the horizon. */
  readonly endedAt: number | undefined;
  readonly endReason: string | undefined;
  /** The engine's effects (without its wake-ups), with their time in ms from t=0. */
  readonly effects: readonly { readonly at: number; readonly effect: RunEffect }[];
  readonly hosts: readonly PlanHost[];
  readonly stages: readonly PlanStage[];
  readonly ups: readonly PlanUpsEvent[];
  readonly powerOff: readonly { readonly at: number; readonly ups: string; readonly command: string }[];
  readonly warnings: readonly string[];
  /** Assumptions the simulation made (default LB thresholds, a UPS without a runtime reading). */
  readonly notes: readonly string[];
  /** What each host does on its own (no valid lease), as its briefing carries it. */
  readonly offline: readonly HostOfflineRules[];
}

type Item = { readonly at: number; readonly seq: number; readonly input: EngineInput; readonly gen?: number };

/** Kept sorted by (time, scheduling order). */
function insert(items: Item[], item: Item): void {
  let lo = 0;
  for (let hi = items.length; lo < hi; ) {
    const mid = (lo + hi) >> 1;
    const other = items[mid];
    if (other !== undefined && (other.at < item.at || (other.at === item.at && other.seq < item.seq)))
      lo = mid + 1;
    else hi = mid;
  }
  items.splice(lo, 0, item);
}

const MAX_STEPS = 200_000;

/** Simulates the policy over the scenario with the real engine; touches nothing. */
export function simulatePlan(policy: Policy, scenario: Scenario, options: PlanOptions = {}): PlanResult {
  const stepMs = options.stepMs ?? 5_000;
  const shutdownMs = options.hostShutdownMs ?? 30_000;
  const bootMs = options.hostBootMs ?? 60_000;
  const horizonMs = options.horizonMs ?? 2 * 3_600_000;
  const warnings = policy.warnings.map((w) => `policy: ${w}`);
  const notes: string[] = [];
  const enrolled = (host: string) => options.enrolled?.includes(host) ?? true;
  const answers = (host: string) => enrolled(host) && !(options.unresponsive ?? []).includes(host);
  for (const host of [...(options.unresponsive ?? []), ...(options.enrolled ?? [])])
    if (!policy.hosts.has(host)) warnings.push(`options: "${host}" is not a host of the policy`);
  for (const host of policy.hosts.keys())
    if (!enrolled(host))
      warnings.push(`${host} is not enrolled yet: no order reaches it until its grace expires`);

  const hosts = new Map<string, PlanHost>();
  for (const host of policy.hosts.keys()) {
    const stage = policy.stages.find((s) => s.hosts.includes(host))?.name;
    hosts.set(host, stage === undefined ? { host } : { host, stage });
  }
  const stages = new Map<string, PlanStage>(policy.stages.map((s) => [s.name, { name: s.name }]));
  const effects: { at: number; effect: RunEffect }[] = [];
  const upsEvents: PlanUpsEvent[] = [];
  const powerOff: { at: number; ups: string; command: string }[] = [];
  /** The simulated machines: powered and running, and a generation that voids their scheduled replies. */
  const machines = new Map([...policy.hosts.keys()].map((h) => [h, { on: true, gen: 0 }]));
  const last = new Map<string, Extract<EngineInput, { kind: 'ups' }>>();
  const troubled = new Set<string>();
  const ticks = new Set<number>();
  const connections = new Map<string, boolean>();
  const queue: Item[] = [];
  let seq = 0;
  const schedule = (at: number, input: EngineInput, gen?: number) =>
    insert(queue, gen === undefined ? { at, seq: seq++, input } : { at, seq: seq++, input, gen });

  for (const host of policy.hosts.keys()) if (enrolled(host)) schedule(0, { kind: 'host-connected', host });
  for (const { at, input } of scenarioReadings(policy, scenario, { stepMs, horizonMs }, notes)) {
    if (policy.ups.has(input.ups)) schedule(at, input);
    else if (!warnings.includes(`scenario: unknown UPS "${input.ups}" ignored`))
      warnings.push(`scenario: unknown UPS "${input.ups}" ignored`);
  }

  let state: EngineState = initialEngineState;
  let lastAt = -1;
  let endedAt: number | undefined;
  let endReason: string | undefined;

  const record = (effect: RunEffect, at: number) => {
    const host = 'host' in effect ? hosts.get(effect.host) : undefined;
    const stage = 'stage' in effect ? stages.get(effect.stage) : undefined;
    const machine = 'host' in effect ? machines.get(effect.host) : undefined;
    if (effect.kind === 'stage-fired') Object.assign(stage ?? {}, { firedAt: at, reason: effect.reason });
    if (effect.kind === 'stage-complete') Object.assign(stage ?? {}, { completedAt: at });
    if (effect.kind === 'stage-cancelled') Object.assign(stage ?? {}, { cancelledAt: at });
    if (effect.kind === 'host-down') Object.assign(host ?? {}, { downAt: at, downHow: effect.how });
    if (effect.kind === 'host-back') Object.assign(host ?? {}, { backAt: at });
    if (effect.kind === 'host-missing') Object.assign(host ?? {}, { missingAt: at });
    if (effect.kind === 'run-ended') [endedAt, endReason] = [at, effect.reason];
    if (effect.kind === 'ups-power-off')
      powerOff.push({ at, ups: effect.ups, command: policy.ups.get(effect.ups)?.powerOff ?? '' });
    if (effect.kind === 'order') {
      const reason = stages.get(effect.stage)?.reason;
      Object.assign(
        host ?? {},
        { stage: effect.stage, orderedAt: at },
        reason === undefined ? {} : { reason },
      );
      if (machine === undefined || !machine.on || effect.drill || !answers(effect.host)) return;
      // The agent runs the shutdown command at once; the machine is off (connection closed) a little later.
      schedule(at, { kind: 'order-report', host: effect.host, report: 'accepted' }, machine.gen);
      schedule(at, { kind: 'order-report', host: effect.host, report: 'started' }, machine.gen);
      const off = at + Math.min(shutdownMs, effect.deadline - at);
      schedule(off, { kind: 'host-disconnected', host: effect.host }, machine.gen);
    }
    if (effect.kind === 'wake') {
      Object.assign(host ?? {}, { wokenAt: at });
      if (machine !== undefined && answers(effect.host))
        schedule(at + bootMs, { kind: 'host-connected', host: effect.host }, machine.gen);
    }
  };

  const step = (input: EngineInput, at: number) => {
    const decision = decide(policy, state, input, at, connections);
    applyConnection(connections, input);
    state = decision.state;
    lastAt = at;
    for (const effect of decision.effects) {
      if (effect.kind !== 'wake-at') {
        effects.push({ at, effect });
        record(effect, at);
      } else if (!ticks.has(effect.at)) {
        ticks.add(effect.at);
        schedule(effect.at, { kind: 'tick' });
      }
    }
  };

  /** Every feed of a running host is dead: it loses power (and its connection) now. */
  const powerLoss = (at: number) => {
    const dead = new Set([...last.values()].filter((r) => r.dead).map((r) => r.ups));
    for (const [name, entry] of policy.hosts) {
      const machine = machines.get(name);
      if (machine === undefined || !machine.on || !entry.ups.every((u) => dead.has(u))) continue;
      Object.assign(machine, { on: false, gen: machine.gen + 1 });
      Object.assign(hosts.get(name) ?? {}, { powerLostAt: at });
      warnings.push(`${name} loses power (${entry.ups.join(', ')} dead) before it has shut down`);
      if (enrolled(name)) step({ kind: 'host-disconnected', host: name }, at);
    }
  };

  for (let steps = 0; endedAt === undefined && steps < MAX_STEPS; steps++) {
    const item = queue.shift();
    if (item === undefined || item.at > horizonMs) break;
    const { input, at } = item;
    if (input.kind === 'tick' && lastAt === at) continue;
    const machine = 'host' in input ? machines.get(input.host) : undefined;
    if (item.gen !== undefined && machine?.gen !== item.gen) continue; // voided: the host lost power
    if (machine && (input.kind === 'host-disconnected' || input.kind === 'host-connected'))
      machine.on = input.kind === 'host-connected';
    if (input.kind === 'ups') {
      for (const what of upsChanges(last.get(input.ups), input))
        upsEvents.push({ at, ups: input.ups, what, charge: input.charge, runtime: input.runtime });
      last.set(input.ups, input);
      if (input.power === 'battery' || input.dead || input.fsd) troubled.add(input.ups);
    }
    step(input, at);
    if (input.kind === 'ups' && input.dead) powerLoss(at);
  }

  if (endedAt !== undefined && state.run !== undefined)
    warnings.push(`a new run started as this one ended (${endReason ?? ''}); the plan stops there`);
  const end = endedAt ?? horizonMs;
  if (scenario.kind === 'timeline' && scenario.events.some((e) => e.at > end))
    warnings.push(
      `scenario: events after ${formatDuration(end)} are not simulated (the run ended or the horizon came)`,
    );
  for (const host of hosts.values()) {
    const entry = policy.hosts.get(host.host);
    if (host.orderedAt !== undefined || entry === undefined) continue;
    const healthy = entry.ups.filter((u) => !troubled.has(u));
    const why =
      host.stage === undefined
        ? 'it is in no stage'
        : healthy.length >= entry.minSupplies
          ? `still fed by ${healthy.join(', ')}`
          : `stage ${host.stage} never ordered it`;
    warnings.push(`${host.host} is never ordered to shut down in this scenario (${why})`);
  }
  const [planHosts, planStages] = [[...hosts.values()], [...stages.values()]];
  return {
    scenario: scenario.kind,
    horizonMs,
    endedAt,
    endReason,
    effects,
    warnings,
    notes,
    powerOff,
    hosts: planHosts,
    stages: planStages,
    ups: upsEvents,
    offline: offlineRulesOf(policy),
  };
}
