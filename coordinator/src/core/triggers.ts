/**
 * When is a host endangered? Pure functions over the UPS views and the policy, with NUT's
 * MINSUPPLIES rule: a host fed by several UPSes is endangered when fewer than `minSupplies` of its
 * feeds are still healthy for the condition at hand.
 */
import type { UpsView } from './engine-state.js';
import type { HostEntry, Policy, Trigger } from './policy.js';

/** On battery in upsmon's sense: OB seen, or last seen OB and now silent past the dead time. */
export function onBattery(ups: UpsView | undefined): boolean {
  return ups !== undefined && (ups.power === 'battery' || ups.dead);
}

/** Anything that takes this UPS's power away: on battery, dead, or a forced shutdown. */
export function inTrouble(ups: UpsView | undefined): boolean {
  return ups !== undefined && (onBattery(ups) || ups.fsd);
}

/** Which of the trigger's conditions hold for this one UPS (empty: none). Only while in trouble. */
export function conditionsMet(trigger: Trigger, ups: UpsView | undefined, now: number): string[] {
  if (ups === undefined || !inTrouble(ups)) return [];
  const met: string[] = [];
  const battery = onBattery(ups);
  if (trigger.fsd && ups.fsd) met.push('FSD');
  if (trigger.dead && ups.dead) met.push('dead UPS');
  if (trigger.lowBattery && battery && ups.lowBattery) met.push('low battery');
  if (trigger.onBattery !== undefined && battery && ups.batterySince !== undefined) {
    if (now - ups.batterySince >= trigger.onBattery)
      met.push(`on battery ${Math.round(trigger.onBattery / 1000)}s`);
  }
  if (
    trigger.chargeBelow !== undefined &&
    battery &&
    ups.charge !== undefined &&
    ups.charge < trigger.chargeBelow
  ) {
    met.push(`charge ${ups.charge}% < ${trigger.chargeBelow}%`);
  }
  if (
    trigger.runtimeBelow !== undefined &&
    battery &&
    ups.runtime !== undefined &&
    ups.runtime < trigger.runtimeBelow
  ) {
    met.push(`runtime ${Math.round(ups.runtime / 1000)}s < ${Math.round(trigger.runtimeBelow / 1000)}s`);
  }
  return met;
}

/** How many of the host's feeds still satisfy `healthy`. */
function healthyFeeds(
  host: HostEntry,
  ups: Readonly<Record<string, UpsView>>,
  healthy: (view: UpsView | undefined) => boolean,
): number {
  return host.ups.filter((name) => healthy(ups[name])).length;
}

/** The host's power is threatened at all: fewer than minSupplies feeds are out of trouble. */
export function threatened(host: HostEntry, ups: Readonly<Record<string, UpsView>>): boolean {
  return healthyFeeds(host, ups, (view) => !inTrouble(view)) < host.minSupplies;
}

/** The reason the trigger holds for this host, or undefined. A UPS never heard from counts as healthy (as in upsmon). */
export function triggerReason(
  trigger: Trigger,
  host: HostEntry,
  ups: Readonly<Record<string, UpsView>>,
  now: number,
): string | undefined {
  const reasons = host.ups.map((name) => ({ name, met: conditionsMet(trigger, ups[name], now) }));
  const healthy = reasons.filter((r) => r.met.length === 0).length;
  if (healthy >= host.minSupplies) return undefined;
  return reasons
    .filter((r) => r.met.length > 0)
    .map((r) => `${r.name}: ${r.met.join(', ')}`)
    .join('; ');
}

/** The earliest future moment a time-based condition could start to hold for this UPS (for wake-ups). */
export function nextTimeCondition(
  trigger: Trigger,
  ups: UpsView | undefined,
  now: number,
): number | undefined {
  if (trigger.onBattery === undefined || !onBattery(ups) || ups?.batterySince === undefined) return undefined;
  const due = ups.batterySince + trigger.onBattery;
  return due > now ? due : undefined;
}

export function hostsFedBy(policy: Policy, ups: string): string[] {
  return [...policy.hosts.values()].filter((host) => host.ups.includes(ups)).map((host) => host.name);
}
