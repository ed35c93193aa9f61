/**
 * Prints a `policy plan` result: one timeline sorted by time, then a table per host, then warnings.
 */
import { formatDuration } from '../../../shared/src/duration.js';
import { formatTable } from '../../../shared/src/text-table.js';
import type { RunEffect } from './engine-state.js';
import type { PlanResult, PlanUpsEvent } from './plan.js';

/** ms from t=0 as `+m:ss`, or `+h:mm:ss` from one hour on. */
export function formatOffset(ms: number): string {
  const total = Math.floor(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `+${h}:${String(m).padStart(2, '0')}:${ss}` : `+${m}:${ss}`;
}

const optional = (ms: number | undefined) => (ms === undefined ? '-' : formatOffset(ms));

function upsText(event: PlanUpsEvent): string {
  const readings = [
    event.charge === undefined ? undefined : `charge ${event.charge}%`,
    event.runtime === undefined ? undefined : `runtime ${formatOffset(event.runtime).slice(1)}`,
  ].filter((r) => r !== undefined);
  const suffix = readings.length > 0 && event.what !== 'dead' ? ` (${readings.join(', ')})` : '';
  const what = event.what === 'dead' ? 'dead: its load loses power' : event.what;
  return `${event.ups} ${what}${suffix}`;
}

function effectText(effect: RunEffect, result: PlanResult): string {
  switch (effect.kind) {
    case 'run-started':
      return `run ${effect.run} started (${effect.reason})`;
    case 'run-restoring':
    case 'run-resumed':
      return `run ${effect.run} ${effect.kind === 'run-restoring' ? 'restoring' : 'resumed'} (${effect.reason})`;
    case 'run-ended':
      return `run ${effect.run} ended (${effect.reason})`;
    case 'stage-fired':
      return `stage ${effect.stage} fired (${effect.reason})`;
    case 'stage-waiting':
      return `stage ${effect.stage} waits for ${effect.waitingFor.join(', ')}`;
    case 'stage-complete':
      return `stage ${effect.stage} complete`;
    case 'stage-cancelled':
      return `stage ${effect.stage} cancelled (${effect.reason})`;
    case 'order':
      return `${effect.host} ← shutdown order (stage ${effect.stage}, grace until ${formatOffset(effect.deadline)})`;
    case 'host-down':
      return `${effect.host} down (${effect.how === 'grace-expired' ? 'grace expired' : effect.how})`;
    case 'wake':
      return `${effect.host} ← wake-on-LAN`;
    case 'host-back':
      return `${effect.host} back (agent reconnected)`;
    case 'host-missing':
      return `${effect.host} missing (did not reconnect)`;
    case 'ups-power-off': {
      const command = result.powerOff.find((p) => p.ups === effect.ups)?.command ?? '';
      return `${effect.ups} ← power-off${command === '' ? '' : ` (${command})`}`;
    }
  }
}

/** The timeline as `[at, text]` lines: causes (UPS changes, power loss) before the engine's answers. */
export function planTimeline(result: PlanResult): { at: number; text: string }[] {
  const lines = [
    ...result.ups.map((event) => ({ at: event.at, rank: 0, text: upsText(event) })),
    ...result.hosts.flatMap((host) =>
      host.powerLostAt === undefined
        ? []
        : [{ at: host.powerLostAt, rank: 1, text: `${host.host} loses power (still running)` }],
    ),
    ...result.effects.map(({ at, effect }) => ({ at, rank: 2, text: effectText(effect, result) })),
  ];
  return lines
    .map((line, index) => ({ ...line, index }))
    .sort((a, b) => a.at - b.at || a.rank - b.rank || a.index - b.index)
    .map(({ at, text }) => ({ at, text }));
}

/** The whole plan as text for a terminal (monospace). */
export function formatPlan(result: PlanResult): string {
  const timeline = planTimeline(result);
  const width = Math.max(0, ...timeline.map((line) => formatOffset(line.at).length));
  const end =
    result.endedAt === undefined
      ? `still running at the horizon (${formatDuration(result.horizonMs)})`
      : `run ended ${formatOffset(result.endedAt)} (${result.endReason ?? ''})`;
  const hosts = formatTable(
    ['HOST', 'STAGE', 'ORDERED', 'DOWN', 'HOW', 'POWER LOST', 'WOKEN', 'BACK'],
    result.hosts.map((h) => [
      h.host,
      h.stage ?? '-',
      optional(h.orderedAt),
      optional(h.downAt),
      h.downHow ?? '-',
      optional(h.powerLostAt),
      optional(h.wokenAt),
      h.missingAt === undefined ? optional(h.backAt) : `missing ${formatOffset(h.missingAt)}`,
    ]),
  );
  const stages = formatTable(
    ['STAGE', 'FIRED', 'COMPLETE', 'CANCELLED', 'REASON'],
    result.stages.map((s) => [
      s.name,
      optional(s.firedAt),
      optional(s.completedAt),
      optional(s.cancelledAt),
      s.reason ?? (s.firedAt === undefined ? 'never fired' : '-'),
    ]),
  );
  const list = (title: string, items: readonly string[]) =>
    items.length === 0 ? [] : ['', `${title}:`, ...items.map((item) => `  - ${item}`)];
  return [
    `Plan (${result.scenario}): ${end}`,
    '',
    ...timeline.map((line) => `${formatOffset(line.at).padStart(width)}  ${line.text}`),
    '',
    hosts,
    '',
    stages,
    ...list(
      'On its own (no valid lease), each host follows',
      result.offline.map((rule) => `${rule.host}: ${rule.text}`),
    ),
    ...list('Warnings', result.warnings),
    ...list('Assumptions', result.notes),
  ].join('\n');
}
