/** Turns what arrives from agents into engine inputs. */
import { interpretStatus } from '../../../shared/src/nut-status.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import type { EngineInput } from '../core/engine-state.js';

function number(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** A UPS reading as the engine wants it; an unknown status keeps the last known values in the engine. */
export function upsInput(
  claims: {
    ups?: string;
    status: readonly string[] | null;
    vars: Readonly<Record<string, string>>;
    dead: boolean;
    observedAt: number;
  },
  upsName?: string,
): Extract<EngineInput, { kind: 'ups' }> {
  const status = interpretStatus(claims.status);
  const runtime = number(claims.vars['battery.runtime']);
  return {
    kind: 'ups',
    ups: upsName ?? claims.ups ?? '',
    power: status.power,
    lowBattery: status.lowBattery,
    fsd: status.fsd,
    dead: claims.dead,
    charge: number(claims.vars['battery.charge']),
    runtime: runtime === undefined ? undefined : runtime * 1000,
    at: claims.observedAt,
  };
}

/** What a host said about its shutdown order. */
export function reportInput(
  host: string,
  message: Extract<AgentMessage, { type: 'ack' | 'result' }>,
): EngineInput {
  if (message.type === 'ack') return { kind: 'order-report', host, report: message.status };
  return { kind: 'order-report', host, report: message.outcome };
}
