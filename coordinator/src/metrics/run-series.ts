/**
 * The engine's run as Prometheus series: which kind of run is active, its number, each stage's state
 * as 0/1 series over every state, and how many hosts are at each step of their order. Pure.
 */
import type { EngineState, OrderStatus, RunState, StageStatus } from '../core/engine-state.js';

export const RUN_KINDS: readonly RunState['kind'][] = ['outage', 'drill'];
export const STAGE_STATES: readonly StageStatus[] = ['pending', 'waiting', 'fired', 'complete', 'cancelled'];
export const HOST_ORDER_STATES: readonly OrderStatus[] = [
  'ordered',
  'accepted',
  'started',
  'failed',
  'refused',
  'drilled',
  'down',
];

export interface RunSeries {
  readonly active: readonly { readonly kind: string; readonly value: number }[];
  /** The active run's number; 0 when there is none. */
  readonly number: number;
  readonly stages: readonly { readonly stage: string; readonly state: string; readonly value: number }[];
  readonly hosts: readonly { readonly status: string; readonly value: number }[];
}

/**
 * `stageNames` are the policy's stages: with them a stage shows up (all 0) before any run, and
 * labels stay bounded by the policy. Stages of the active run that a newer policy dropped are kept
 * until the run ends. In a run, a stage it has not touched yet is pending (as the engine reads it).
 */
export function toRunSeries(state: EngineState, stageNames: readonly string[]): RunSeries {
  const run = state.run;
  const names = new Set([...stageNames, ...Object.keys(run?.stages ?? {})]);
  const stages: { stage: string; state: string; value: number }[] = [];
  for (const stage of names) {
    const current = run === undefined ? undefined : (run.stages[stage]?.status ?? 'pending');
    for (const status of STAGE_STATES)
      stages.push({ stage, state: status, value: status === current ? 1 : 0 });
  }
  const hosts = Object.values(run?.hosts ?? {});
  return {
    active: RUN_KINDS.map((kind) => ({ kind, value: run?.kind === kind ? 1 : 0 })),
    number: run?.number ?? 0,
    stages,
    hosts: HOST_ORDER_STATES.map((status) => ({
      status,
      value: hosts.filter((host) => host.status === status).length,
    })),
  };
}
