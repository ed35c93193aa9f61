/**
 * The stored engine state's schema: what a coordinator reads back after a restart is checked against
 * it, so that a state written by another version is refused with a clear message instead of being
 * trusted as-is. Keys this version does not know are dropped (e.g. `connected`, no longer stored).
 */
import { z } from 'zod';
import type { EngineState } from './engine-state.js';

const ms = z.number();

const UpsViewSchema = z
  .object({
    power: z.enum(['online', 'battery', 'unknown']),
    lowBattery: z.boolean(),
    fsd: z.boolean(),
    dead: z.boolean(),
    charge: z.number().optional(),
    runtime: z.number().optional(),
    batterySince: ms.optional(),
    onlineSince: ms.optional(),
    lastSeen: ms.exactOptional(),
  })
  .transform((view) => ({
    ...view,
    // Stored as JSON, an undefined member is absent: the engine's type has it present, undefined.
    charge: view.charge,
    runtime: view.runtime,
    batterySince: view.batterySince,
    onlineSince: view.onlineSince,
  }));

const RunHostSchema = z.object({
  stage: z.string(),
  orderedAt: ms,
  status: z.enum(['ordered', 'accepted', 'started', 'failed', 'refused', 'drilled', 'down']),
  graceUntil: ms,
  downAt: ms.exactOptional(),
  downHow: z.enum(['confirmed', 'grace-expired', 'drill', 'offline']).exactOptional(),
});

const RunStageSchema = z.object({
  status: z.enum(['pending', 'waiting', 'fired', 'complete', 'cancelled']),
  reason: z.string().exactOptional(),
  forced: z.boolean().exactOptional(),
  manual: z.boolean().exactOptional(),
  forcedHosts: z.array(z.string()).exactOptional(),
  firedAt: ms.exactOptional(),
  completedAt: ms.exactOptional(),
  blockedBy: z.array(z.string()).exactOptional(),
});

const RunWakeSchema = z.object({
  at: ms,
  back: ms.exactOptional(),
  missing: z.literal(true).exactOptional(),
});

const RunStateSchema = z
  .object({
    number: z.number().int().positive(),
    kind: z.enum(['outage', 'drill']),
    phase: z.enum(['active', 'restoring']),
    startedAt: ms,
    stages: z.record(z.string(), RunStageSchema),
    hosts: z.record(z.string(), RunHostSchema),
    manual: z.array(z.string()),
    restore: z.object({ since: ms, woken: z.record(z.string(), RunWakeSchema) }).optional(),
    powerOff: z.array(z.string()),
    troubled: z.boolean().exactOptional(),
  })
  .transform((run) => ({ ...run, restore: run.restore }));

export const EngineStateSchema = z
  .object({
    ups: z.record(z.string(), UpsViewSchema),
    run: RunStateSchema.optional(),
    nextRunNumber: z.number().int().positive(),
    holdUntil: ms.exactOptional(),
  })
  .transform((state) => ({ ...state, run: state.run }));

export function parseEngineState(stored: unknown): EngineState {
  const state: EngineState = EngineStateSchema.parse(stored);
  return state;
}
