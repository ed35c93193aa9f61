/**
 * The policy engine: a pure function `decide(policy, state, input, now, connections) → { state, effects }`.
 * No I/O and no timers: time comes in as `now`, and the engine asks to be called again with a
 * `wake-at` effect. The shell (fleet/) stores the state and carries out the effects.
 *
 * Internally one decision works on a private draft copy; the state passed in is never changed.
 */
import type {
  Connections,
  Effect,
  EngineInput,
  EngineState,
  IsConnected,
  RunState,
  UpsView,
} from './engine-state.js';
import type { Policy } from './policy.js';
import { evaluateRestore } from './run-restore.js';
import {
  allStagesComplete,
  cancelPendingStages,
  completeFiredStages,
  type Draft,
  type DraftRun,
  evaluatePowerOff,
  evaluateStages,
  expireGrace,
  type Pass,
} from './run-stages.js';
import { inTrouble } from './triggers.js';

export type { Connections, Effect, EngineInput, EngineState, RunState, UpsView } from './engine-state.js';
export { applyConnection, connectionMatters, initialEngineState } from './engine-state.js';

export interface Decision {
  readonly state: EngineState;
  readonly effects: readonly Effect[];
}

function nextUpsView(
  previous: UpsView | undefined,
  input: Extract<EngineInput, { kind: 'ups' }>,
  now: number,
): UpsView {
  const at = Math.min(input.at, now);
  const battery = input.power === 'battery' || input.dead;
  if (input.power === 'unknown' && !input.dead) {
    // Unknown is not news: keep what was last known (a stale blip neither starts nor ends an outage).
    return (
      previous ?? {
        power: 'unknown',
        lowBattery: false,
        fsd: false,
        dead: false,
        charge: undefined,
        runtime: undefined,
        batterySince: undefined,
        onlineSince: undefined,
      }
    );
  }
  return {
    power: input.power,
    lowBattery: input.lowBattery,
    fsd: input.fsd,
    dead: input.dead,
    charge: input.charge ?? (input.dead ? previous?.charge : undefined),
    runtime: input.runtime ?? (input.dead ? previous?.runtime : undefined),
    batterySince: battery ? (previous?.batterySince ?? at) : undefined,
    onlineSince: battery ? undefined : (previous?.onlineSince ?? at),
    lastSeen: now,
  };
}

/** Last seen on battery and then nothing heard for `deadAfter`: dead, as upsmon's DEADTIME rule says. */
function applySilence(policy: Policy | undefined, state: Draft<EngineState>, now: number, pass: Pass): void {
  for (const [name, view] of Object.entries(state.ups)) {
    const deadAfter = policy?.ups.get(name)?.deadAfter;
    if (
      deadAfter === undefined ||
      view.dead ||
      view.batterySince === undefined ||
      view.lastSeen === undefined
    )
      continue;
    const deadline = view.lastSeen + deadAfter;
    if (now > deadline) state.ups[name] = { ...view, dead: true };
    else pass.wakes.push(deadline + 1);
  }
}

function startRun(
  state: Draft<EngineState>,
  kind: RunState['kind'],
  reason: string,
  now: number,
  pass: Pass,
): DraftRun {
  const run: DraftRun = {
    number: state.nextRunNumber,
    kind,
    phase: 'active',
    startedAt: now,
    stages: {},
    hosts: {},
    manual: [],
    restore: undefined,
    powerOff: [],
  };
  state.nextRunNumber += 1;
  state.run = run;
  pass.effects.push({ kind: 'run-started', run: run.number, runKind: kind, reason });
  return run;
}

function endRun(
  state: Draft<EngineState>,
  run: DraftRun,
  reason: Extract<Effect, { kind: 'run-ended' }>['reason'],
  pass: Pass,
): void {
  state.run = undefined;
  pass.effects.push({ kind: 'run-ended', run: run.number, reason });
}

function applyInput(
  state: Draft<EngineState>,
  input: EngineInput,
  now: number,
  pass: Pass,
  connected: IsConnected,
): void {
  const run = state.run;
  switch (input.kind) {
    case 'ups':
      state.ups[input.ups] = nextUpsView(state.ups[input.ups], input, now);
      return;
    case 'host-connected': {
      const woken = run?.restore?.woken[input.host];
      if (
        run !== undefined &&
        woken !== undefined &&
        woken.back === undefined &&
        woken.missing === undefined
      ) {
        if (run.restore !== undefined) run.restore.woken[input.host] = { ...woken, back: now };
        pass.effects.push({ kind: 'host-back', run: run.number, host: input.host });
      }
      return;
    }
    case 'host-disconnected': {
      const entry = run?.hosts[input.host];
      // Down is confirmed when the host said its shutdown started and then its connection closed.
      if (run !== undefined && entry !== undefined && entry.status === 'started') {
        run.hosts[input.host] = { ...entry, status: 'down', downAt: now, downHow: 'confirmed' };
        pass.effects.push({ kind: 'host-down', run: run.number, host: input.host, how: 'confirmed' });
      }
      return;
    }
    case 'order-report': {
      const entry = run?.hosts[input.host];
      if (run === undefined || entry === undefined || entry.status === 'down') return;
      if (input.report === 'drill') {
        run.hosts[input.host] = { ...entry, status: 'down', downAt: now, downHow: 'drill' };
        pass.effects.push({ kind: 'host-down', run: run.number, host: input.host, how: 'drill' });
        return;
      }
      // A duplicate only says the host had this order already, not how far it got: no progress.
      const status =
        input.report === 'accepted' || input.report === 'duplicate'
          ? 'accepted'
          : input.report === 'rejected'
            ? 'refused'
            : input.report === 'failed'
              ? 'failed'
              : 'started'; // started or succeeded
      run.hosts[input.host] = {
        ...entry,
        status: entry.status === 'started' && status === 'accepted' ? 'started' : status,
      };
      if (status === 'started' && connected(input.host) === false) {
        run.hosts[input.host] = { ...entry, status: 'down', downAt: now, downHow: 'confirmed' };
        pass.effects.push({ kind: 'host-down', run: run.number, host: input.host, how: 'confirmed' });
      }
      return;
    }
    case 'host-down-offline': {
      const entry = run?.hosts[input.host];
      if (run === undefined || run.kind === 'drill' || entry?.status === 'down') return;
      run.hosts[input.host] = {
        stage: entry?.stage ?? input.stage,
        orderedAt: entry?.orderedAt ?? now,
        status: 'down',
        graceUntil: entry?.graceUntil ?? now,
        downAt: now,
        downHow: 'offline',
      };
      pass.effects.push({ kind: 'host-down', run: run.number, host: input.host, how: 'offline' });
      return;
    }
    case 'manual':
      if (state.run?.kind === 'drill') return;
      (state.run ?? startRun(state, 'outage', `manual: ${input.stage}`, now, pass)).manual.push(input.stage);
      return;
    case 'start-drill':
      if (state.run === undefined) startRun(state, 'drill', 'drill requested', now, pass);
      return;
    case 'tick':
      return;
  }
}

/** UPSes of the policy (all known ones, without a policy) that are in trouble right now. */
function troubled(policy: Policy | undefined, state: Draft<EngineState>): string[] {
  return Object.entries(state.ups)
    .filter(([name, view]) => (policy === undefined || policy.ups.has(name)) && inTrouble(view))
    .map(([name]) => name);
}

function evaluate(
  policy: Policy | undefined,
  state: Draft<EngineState>,
  now: number,
  pass: Pass,
  connected: IsConnected,
): void {
  const inTroubleNow = troubled(policy, state);
  let run = state.run;
  if (run?.kind === 'drill' && inTroubleNow.length > 0) {
    endRun(state, run, 'interrupted', pass);
    run = undefined;
  }
  if (run === undefined) {
    if (inTroubleNow.length === 0) return;
    run = startRun(state, 'outage', `power lost: ${inTroubleNow.join(', ')}`, now, pass);
  }
  if (policy === undefined) return;
  if (run.kind === 'outage' && run.phase === 'restoring' && inTroubleNow.length > 0) {
    if (Object.keys(run.restore?.woken ?? {}).length === 0) {
      run.phase = 'active';
      run.restore = undefined;
      for (const [name, stage] of Object.entries(run.stages))
        if (stage.status === 'cancelled') run.stages[name] = { status: 'pending' };
      pass.effects.push({
        kind: 'run-resumed',
        run: run.number,
        reason: `power lost again: ${inTroubleNow.join(', ')}`,
      });
    } else {
      endRun(state, run, 'interrupted', pass);
      run = startRun(
        state,
        'outage',
        `power lost again during restore: ${inTroubleNow.join(', ')}`,
        now,
        pass,
      );
    }
  }
  expireGrace(run, now, pass);
  if (inTroubleNow.length > 0) run.troubled = true;
  if (run.phase === 'active') {
    if (
      run.kind === 'outage' &&
      inTroubleNow.length === 0 &&
      run.troubled !== true &&
      run.manual.length > 0
    ) {
      // A shutdown an admin asked for on mains: done when its stages are; nothing is woken.
      evaluateStages(policy, state, run, now, pass);
      if (run.manual.every((name) => run.stages[name]?.status === 'complete'))
        endRun(state, run, 'manual-complete', pass);
      return;
    }
    if (run.kind === 'outage' && inTroubleNow.length === 0) {
      run.phase = 'restoring';
      run.restore = { since: now, woken: {} };
      cancelPendingStages(policy, run, 'power restored', pass);
      pass.effects.push({ kind: 'run-restoring', run: run.number, reason: 'power restored' });
    } else {
      if (state.holdUntil !== undefined && now < state.holdUntil) {
        pass.wakes.push(state.holdUntil);
        return;
      }
      evaluateStages(policy, state, run, now, pass);
      if (run.kind === 'outage') evaluatePowerOff(policy, state, run, pass);
      if (run.kind === 'drill' && allStagesComplete(policy, run)) endRun(state, run, 'drill-complete', pass);
      return;
    }
  }
  completeFiredStages(policy, run, now, pass);
  if (evaluateRestore(policy, state, run, now, pass, connected) === 'done')
    endRun(state, run, 'restored', pass);
}

const NO_CONNECTIONS: Connections = new Map();

/**
 * One decision. `connections` are the host agents' connections before this input (a
 * `host-connected` or `host-disconnected` input counts by itself); the caller keeps them.
 */
export function decide(
  policy: Policy | undefined,
  state: EngineState,
  input: EngineInput,
  now: number,
  connections: Connections = NO_CONNECTIONS,
): Decision {
  const draft = toDraft(state);
  const effects = decideInPlace(policy, draft, input, now, connections);
  return { state: draft as EngineState, effects };
}

/** A copy of the state the caller owns and may hand to `decideInPlace`. */
export function toDraft(state: EngineState): EngineDraft {
  return structuredClone(state) as EngineDraft;
}

export type EngineDraft = Draft<EngineState>;

/**
 * `decide` on a draft the caller owns, changed in place; returns the effects. A shell deciding
 * many inputs in a row (a batch) copies the state once rather than once per input.
 */
export function decideInPlace(
  policy: Policy | undefined,
  draft: EngineDraft,
  input: EngineInput,
  now: number,
  connections: Connections = NO_CONNECTIONS,
): Effect[] {
  const pass: Pass = { effects: [], wakes: [] };
  const connected: IsConnected = (host) => {
    if ((input.kind === 'host-connected' || input.kind === 'host-disconnected') && input.host === host)
      return input.kind === 'host-connected';
    return connections.get(host);
  };
  applyInput(draft, input, now, pass, connected);
  applySilence(policy, draft, now, pass);
  evaluate(policy, draft, now, pass, connected);
  const future = pass.wakes.filter((at) => at > now);
  const effects: Effect[] = [...pass.effects];
  if (future.length > 0) effects.push({ kind: 'wake-at', at: future.reduce((a, b) => Math.min(a, b)) });
  return effects;
}
