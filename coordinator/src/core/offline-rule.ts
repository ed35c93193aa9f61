/**
 * The offline rules: what each host does on its own when it has no valid lease, compiled from the
 * policy. Pure.
 *
 * For every stage that lists the host: its trigger (without `manual`, which has no offline meaning),
 * and for a stage with `after:` the longest the coordinator would wait for the stages before it if
 * no earlier host ever confirmed being down. When a stage's trigger holds, the engine pulls every
 * pending stage before it forward; each fires once the stages before it are complete and is complete
 * once its hosts are down, or their grace has expired. So the stage fires at the latest
 *
 *     trigger + wait,   wait = max over its `after:` stages p of (wait(p) + grace(p))
 *
 * and, when those stages have on-battery triggers of their own and their hosts are endangered no
 * later than this host, no later than `waitBound` of on-battery time,
 *
 *     waitBound = max over p of (max(onBattery(p), waitBound(p)) + grace(p)).
 *
 * A host on its own therefore never goes down earlier than the coordinator would have ordered it.
 */
import { describeOfflineRules } from '../../../shared/src/offline-rule-text.js';
import type { BriefingClaims, OfflineStageRule, OfflineTrigger } from '../../../shared/src/protocol.js';
import type { HostEntry, Policy, Stage, Trigger } from './policy.js';

/** The trigger without `manual`; undefined when nothing else is left. */
export function offlineTrigger(trigger: Trigger): OfflineTrigger | undefined {
  const out: { -readonly [K in keyof OfflineTrigger]: OfflineTrigger[K] } = {};
  if (trigger.onBattery !== undefined) out.onBattery = trigger.onBattery;
  if (trigger.chargeBelow !== undefined) out.chargeBelow = trigger.chargeBelow;
  if (trigger.runtimeBelow !== undefined) out.runtimeBelow = trigger.runtimeBelow;
  if (trigger.lowBattery === true) out.lowBattery = true;
  if (trigger.fsd === true) out.fsd = true;
  if (trigger.dead === true) out.dead = true;
  return Object.keys(out).length === 0 ? undefined : out;
}

function sameFeeds(a: HostEntry, b: HostEntry): boolean {
  return a.ups.length === b.ups.length && a.ups.every((ups) => b.ups.includes(ups));
}

/**
 * Whether a stage's hosts are endangered no later than `host` on a shared outage: each is fed by
 * exactly the same UPSes and needs at least as many of them. Only then does on-battery time
 * measured by `host` bound when that stage's own trigger holds.
 */
function endangeredNoLater(policy: Policy, stage: Stage, host: HostEntry): boolean {
  return stage.hosts.every((name) => {
    const other = policy.hosts.get(name);
    return other !== undefined && sameFeeds(other, host) && other.minSupplies >= host.minSupplies;
  });
}

interface Chain {
  readonly wait: number;
  readonly waitBound: number | null;
}

function chainOf(policy: Policy, stage: Stage, host: HostEntry, memo: Map<string, Chain>): Chain {
  const known = memo.get(stage.name);
  if (known !== undefined) return known;
  let wait = 0;
  let waitBound: number | null = 0;
  for (const name of stage.after) {
    const before = policy.stages.find((s) => s.name === name);
    if (before === undefined) continue;
    const chain = chainOf(policy, before, host, memo);
    wait = Math.max(wait, chain.wait + before.grace);
    const own = before.trigger.onBattery;
    waitBound =
      waitBound === null ||
      chain.waitBound === null ||
      own === undefined ||
      !endangeredNoLater(policy, before, host)
        ? null
        : Math.max(waitBound, Math.max(own, chain.waitBound) + before.grace);
  }
  const chain = { wait, waitBound: stage.after.length === 0 ? 0 : waitBound };
  memo.set(stage.name, chain);
  return chain;
}

/** The offline rules of `host`: one per stage that lists it and has a trigger besides `manual`. */
export function compileOfflineRules(policy: Policy, host: string): OfflineStageRule[] {
  const entry = policy.hosts.get(host);
  if (entry === undefined) return [];
  const memo = new Map<string, Chain>();
  const rules: OfflineStageRule[] = [];
  for (const stage of policy.stages) {
    if (!stage.hosts.includes(host)) continue;
    const trigger = offlineTrigger(stage.trigger);
    if (trigger === undefined) continue;
    const { wait, waitBound } = chainOf(policy, stage, entry, memo);
    rules.push({ stage: stage.name, trigger, wait, waitBound: stage.after.length === 0 ? 0 : waitBound });
  }
  return rules;
}

/** The host's own fallback, else the policy's; `false` means none (null in the briefing). */
export function fallbackOf(policy: Policy, host: HostEntry): BriefingClaims['fallback'] {
  const rule = host.fallback ?? policy.document.fallback;
  return rule === false ? null : { after: rule.after };
}

export interface HostOfflineRules {
  readonly host: string;
  readonly stages: readonly OfflineStageRule[];
  readonly fallback: BriefingClaims['fallback'];
  /** In words, as `policy plan` prints it and the host logs it. */
  readonly text: string;
}

/** Every host's offline rules, as its briefing carries them (for `policy plan` and the API). */
export function offlineRulesOf(policy: Policy): HostOfflineRules[] {
  return [...policy.hosts.values()].map((host) => {
    const stages = compileOfflineRules(policy, host.name);
    const fallback = fallbackOf(policy, host);
    return { host: host.name, stages, fallback, text: describeOfflineRules(stages, fallback) };
  });
}
