/** A host's offline rules in words, for its log, `upsfleet policy plan` and the API. Pure. */
import { formatDuration } from './duration.js';
import type { OfflineStageRule, OfflineTrigger } from './protocol.js';

export function describeOfflineTrigger(trigger: OfflineTrigger): string {
  const parts: string[] = [];
  if (trigger.onBattery !== undefined) parts.push(`on battery ${formatDuration(trigger.onBattery)}`);
  if (trigger.chargeBelow !== undefined) parts.push(`charge below ${trigger.chargeBelow}%`);
  if (trigger.runtimeBelow !== undefined) parts.push(`runtime below ${formatDuration(trigger.runtimeBelow)}`);
  if (trigger.lowBattery === true) parts.push('low battery');
  if (trigger.fsd === true) parts.push('FSD');
  if (trigger.dead === true) parts.push('UPS dead');
  return parts.join(' or ');
}

/** `stage db: on battery 30s, then up to 2m for the stages before it (at the latest 2m30s on battery)`. */
export function describeOfflineRule(rule: OfflineStageRule): string {
  const head = `stage ${rule.stage}: ${describeOfflineTrigger(rule.trigger)}`;
  if (rule.wait === 0) return head;
  const bound =
    rule.waitBound === null ? '' : ` (at the latest ${formatDuration(rule.waitBound)} on battery)`;
  return `${head}, then up to ${formatDuration(rule.wait)} for the stages before it${bound}`;
}

/** Every rule, then the fallback: what a host on its own goes by. */
export function describeOfflineRules(
  rules: readonly OfflineStageRule[],
  fallback: { readonly after: number } | null,
): string {
  const own = rules.length === 0 ? 'no stage rule' : rules.map(describeOfflineRule).join('; ');
  const last =
    fallback === null
      ? 'no fallback'
      : `fallback ${formatDuration(fallback.after)} after losing the coordinator while in trouble`;
  return `${own}; ${last}`;
}
