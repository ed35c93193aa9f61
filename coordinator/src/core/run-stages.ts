/**
 * The active phase of a run: which stages fire, which hosts get orders, when a host counts as down,
 * and when the UPS power-off step goes out. Works on the draft copy made by `decide`.
 */
import type { Effect, EngineState, RunHost, RunStage, RunState, UpsView } from './engine-state.js';
import type { Policy, Stage } from './policy.js';
import { hostsFedBy, inTrouble, nextTimeCondition, threatened, triggerReason } from './triggers.js';

/** Mutable views of the draft made in `decide`. */
export type Draft<T> = { -readonly [K in keyof T]: DraftValue<T[K]> };
type DraftValue<V> = V extends readonly (infer E)[] ? DraftValue<E>[] : V extends object ? Draft<V> : V;
export type DraftRun = Draft<RunState>;

export interface Pass {
  readonly effects: Effect[];
  /** Moments the engine wants to be called again. */
  readonly wakes: number[];
}

function prerequisites(policy: Policy, stage: Stage): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    for (const before of policy.stages.find((s) => s.name === name)?.after ?? []) {
      if (!seen.has(before)) {
        seen.add(before);
        visit(before);
      }
    }
  };
  visit(stage.name);
  return [...seen];
}

function setStage(run: DraftRun, name: string, next: RunStage): void {
  run.stages[name] = next as Draft<RunStage>;
}

/** Orders a host of a fired stage. */
function order(run: DraftRun, stage: Stage, host: string, now: number, drill: boolean, pass: Pass): void {
  const entry: RunHost = {
    stage: stage.name,
    orderedAt: now,
    status: 'ordered',
    graceUntil: now + stage.grace,
  };
  run.hosts[host] = entry;
  pass.effects.push({
    kind: 'order',
    run: run.number,
    stage: stage.name,
    host,
    drill,
    deadline: entry.graceUntil,
  });
  pass.wakes.push(entry.graceUntil);
}

/** Hosts whose grace expired count as down from now on, as the run records. */
export function expireGrace(run: DraftRun, now: number, pass: Pass): void {
  for (const [host, entry] of Object.entries(run.hosts)) {
    if (entry.status === 'down') continue;
    if (now >= entry.graceUntil) {
      run.hosts[host] = { ...entry, status: 'down', downAt: now, downHow: 'grace-expired' };
      pass.effects.push({ kind: 'host-down', run: run.number, host, how: 'grace-expired' });
    } else {
      pass.wakes.push(entry.graceUntil);
    }
  }
}

function stageHostsDown(run: DraftRun, stage: string): boolean {
  return Object.values(run.hosts).every((h) => h.stage !== stage || h.status === 'down');
}

/**
 * One evaluation of every stage, repeated until nothing changes: a stage whose trigger holds waits
 * for its prerequisites (pulling pending ones forward), fires, orders its endangered hosts, and
 * completes when they are down.
 */
export function evaluateStages(
  policy: Policy,
  state: Draft<EngineState>,
  run: DraftRun,
  now: number,
  pass: Pass,
): void {
  const ups = state.ups as Readonly<Record<string, UpsView>>;
  const drill = run.kind === 'drill';
  for (let changed = true, rounds = 0; changed && rounds < policy.stages.length * 3 + 3; rounds++) {
    changed = false;
    for (const stage of policy.stages) {
      const current: RunStage = run.stages[stage.name] ?? { status: 'pending' };
      if (current.status === 'cancelled') continue;
      if (current.status === 'pending') {
        const reason = drill
          ? 'drill'
          : run.manual.includes(stage.name)
            ? 'manual'
            : stage.hosts
                .map((host) => {
                  const entry = policy.hosts.get(host);
                  if (entry === undefined || run.hosts[host] !== undefined) return undefined;
                  return triggerReason(stage.trigger, entry, ups, now);
                })
                .find((r) => r !== undefined);
        if (reason === undefined) {
          for (const name of new Set(stage.hosts.flatMap((h) => policy.hosts.get(h)?.ups ?? []))) {
            const due = nextTimeCondition(stage.trigger, ups[name], now);
            if (due !== undefined) pass.wakes.push(due);
          }
          continue;
        }
        setStage(run, stage.name, {
          status: 'waiting',
          reason,
          forced: drill || reason === 'manual',
          ...(reason === 'manual' ? { manual: true } : {}),
        });
        changed = true;
        continue;
      }
      if (current.status === 'waiting') {
        const blocking = prerequisites(policy, stage).filter(
          (name) => run.stages[name]?.status !== 'complete',
        );
        if (blocking.length > 0) {
          if (current.blockedBy === undefined) {
            setStage(run, stage.name, { ...current, blockedBy: blocking });
            pass.effects.push({
              kind: 'stage-waiting',
              run: run.number,
              stage: stage.name,
              waitingFor: blocking,
            });
          }
          for (const name of blocking) {
            const before = run.stages[name];
            if (before === undefined || before.status === 'pending') {
              setStage(run, name, {
                status: 'waiting',
                reason: `required by ${stage.name}`,
                forced: true,
                ...(current.manual === true ? { manual: true } : {}),
              });
              changed = true;
            }
          }
          continue;
        }
        // Pulled forward by a later stage: only the hosts endangered right now go down with it;
        // a host whose power fails later must meet this stage's own trigger.
        const forcedHosts =
          current.forced === true && current.manual !== true && !drill
            ? stage.hosts.filter((host) => {
                const entry = policy.hosts.get(host);
                return entry !== undefined && threatened(entry, ups);
              })
            : undefined;
        setStage(run, stage.name, {
          ...current,
          status: 'fired',
          firedAt: now,
          ...(forcedHosts === undefined ? {} : { forcedHosts }),
        });
        pass.effects.push({
          kind: 'stage-fired',
          run: run.number,
          stage: stage.name,
          reason: current.reason ?? '',
        });
        changed = true;
      }
      const fired = run.stages[stage.name] ?? current;
      if (fired.status !== 'fired' && fired.status !== 'complete') continue;
      // Fired (or complete) stays live: a host whose UPS fails later is still ordered.
      for (const host of stage.hosts) {
        const entry = policy.hosts.get(host);
        if (entry === undefined || run.hosts[host] !== undefined) continue;
        if (drill) {
          order(run, stage, host, now, true, pass);
          changed = true;
        } else if (
          // An admin's manual stage (and what it pulls forward) goes down whatever the power says.
          fired.manual === true ||
          (threatened(entry, ups) &&
            (fired.forcedHosts?.includes(host) === true ||
              triggerReason(stage.trigger, entry, ups, now) !== undefined))
        ) {
          order(run, stage, host, now, false, pass);
          if (fired.status === 'complete') setStage(run, stage.name, { ...fired, status: 'fired' });
          changed = true;
        } else {
          for (const name of entry.ups) {
            const due = nextTimeCondition(stage.trigger, ups[name], now);
            if (due !== undefined) pass.wakes.push(due);
          }
        }
      }
      if (run.stages[stage.name]?.status === 'fired' && stageHostsDown(run, stage.name)) {
        setStage(run, stage.name, { ...fired, status: 'complete', completedAt: now });
        pass.effects.push({ kind: 'stage-complete', run: run.number, stage: stage.name });
        changed = true;
      }
    }
  }
}

/** After the last stage: once every host a UPS feeds is down, its watcher powers it off (once, if still needed). */
export function evaluatePowerOff(policy: Policy, state: Draft<EngineState>, run: DraftRun, pass: Pass): void {
  for (const entry of policy.ups.values()) {
    if (entry.powerOff === undefined || run.powerOff.includes(entry.name)) continue;
    if (!inTrouble(state.ups[entry.name])) continue;
    // The hosts that need this UPS: fed by it and not kept safe by their other feeds.
    const dependent = hostsFedBy(policy, entry.name).filter((host) => {
      const hostEntry = policy.hosts.get(host);
      return hostEntry !== undefined && threatened(hostEntry, state.ups);
    });
    if (dependent.length === 0 || !dependent.every((host) => run.hosts[host]?.status === 'down')) continue;
    run.powerOff.push(entry.name);
    pass.effects.push({ kind: 'ups-power-off', run: run.number, ups: entry.name });
  }
}

/** Pending and waiting stages stop: power came back. Hosts already ordered keep their record. */
export function cancelPendingStages(policy: Policy, run: DraftRun, reason: string, pass: Pass): void {
  for (const stage of policy.stages) {
    const current = run.stages[stage.name];
    if (current !== undefined && current.status !== 'pending' && current.status !== 'waiting') continue;
    setStage(run, stage.name, { status: 'cancelled', reason });
    pass.effects.push({ kind: 'stage-cancelled', run: run.number, stage: stage.name, reason });
  }
}

/** While restoring, a stage that had fired still completes when its hosts are down (the record stays true). */
export function completeFiredStages(policy: Policy, run: DraftRun, now: number, pass: Pass): void {
  for (const stage of policy.stages) {
    const current = run.stages[stage.name];
    if (current?.status !== 'fired' || !stageHostsDown(run, stage.name)) continue;
    setStage(run, stage.name, { ...current, status: 'complete', completedAt: now });
    pass.effects.push({ kind: 'stage-complete', run: run.number, stage: stage.name });
  }
}

/** The drill is over when every stage is complete. */
export function allStagesComplete(policy: Policy, run: DraftRun): boolean {
  return policy.stages.every((stage) => run.stages[stage.name]?.status === 'complete');
}
