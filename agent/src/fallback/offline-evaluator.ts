/**
 * What a host on its own (no valid lease) does, as a pure function of its signed rule, what it
 * reads itself and its own clock: `evaluateOffline(rule, feeds, memory, now) → { memory, verdict }`.
 * Reused by anything that must follow a host's offline rule (the NUT bridge's legacy clients too).
 *
 * - A feed is read by the host itself (`own`) or known only from the last briefing (`briefing`).
 * - Mains in its own reading (at least minSupplies of its own feeds online, no FSD) → `mains`: it
 *   never shuts down, whatever the briefing or the fallback say.
 * - Enough healthy feeds otherwise → `fine`.
 * - In trouble: each stage rule's trigger is evaluated on its OWN readings only (on-battery time
 *   counts from when the host itself saw the power go, NUT's MINSUPPLIES rule across feeds); the
 *   stage fires at `max(T, min(T + wait, onBatterySince + waitBound))` where T is when the trigger
 *   holds. The fallback fires `after` from when the host was both on its own and in trouble. The
 *   earliest wins. Without an own reading only the fallback applies (the rule before hosts read upsd).
 * - Unknown is never battery: a feed whose own reading is unknown is known only from the briefing.
 */
import type { OfflineStageRule, OfflineTrigger } from '../../../shared/src/protocol.js';

export interface FeedView {
  readonly source: 'own' | 'briefing';
  readonly power: 'online' | 'battery' | 'unknown';
  readonly lowBattery: boolean;
  readonly fsd: boolean;
  /** upsmon's dead-UPS verdict (last seen on battery, silent past the dead time). */
  readonly dead: boolean;
  /** % */
  readonly charge: number | undefined;
  /** ms */
  readonly runtime: number | undefined;
  /** When this host saw it go on battery (its clock); only for its own readings. */
  readonly batterySince: number | undefined;
}

export interface HostOfflineRule {
  /** The UPSes that feed the host (every one, in the policy's order). */
  readonly feeds: readonly string[];
  readonly minSupplies: number;
  readonly stages: readonly OfflineStageRule[];
  readonly fallback: { readonly after: number } | null;
}

/** What the evaluation remembers between calls; kept on disk so a restart resumes the countdown. */
export interface OfflineMemory {
  /** When the host counted itself on its own. */
  readonly lostAt: number;
  /** When it was first seen in trouble while on its own. */
  readonly troubleSince: number | undefined;
  /** Per stage, when its trigger was first seen to hold (conditions without a time of their own). */
  readonly triggeredAt: Readonly<Record<string, number>>;
}

export type OfflineVerdict =
  | { readonly kind: 'mains'; readonly why: string }
  | { readonly kind: 'fine'; readonly why: string }
  | { readonly kind: 'no-rule'; readonly why: string }
  | {
      readonly kind: 'countdown';
      /** When to shut down (may be now or past: at once). */
      readonly at: number;
      readonly by: 'offline' | 'fallback';
      readonly stage: string | null;
      readonly why: string;
    };

export function initialOfflineMemory(lostAt: number): OfflineMemory {
  return { lostAt, troubleSince: undefined, triggeredAt: {} };
}

const NEVER = Number.POSITIVE_INFINITY;

function inTrouble(feed: FeedView | undefined): boolean {
  return feed !== undefined && (feed.power === 'battery' || feed.dead || feed.fsd);
}

function onBattery(feed: FeedView): boolean {
  return feed.power === 'battery' || feed.dead;
}

/** The earliest time the trigger holds for this one feed (its own reading only); NEVER if it cannot. */
function feedTriggerTime(trigger: OfflineTrigger, feed: FeedView | undefined, now: number): number {
  if (feed === undefined || feed.source !== 'own' || !inTrouble(feed)) return NEVER;
  const battery = onBattery(feed);
  if (trigger.fsd === true && feed.fsd) return now;
  if (trigger.dead === true && feed.dead) return now;
  if (trigger.lowBattery === true && battery && feed.lowBattery) return now;
  if (trigger.chargeBelow !== undefined && battery && feed.charge !== undefined) {
    if (feed.charge < trigger.chargeBelow) return now;
  }
  if (trigger.runtimeBelow !== undefined && battery && feed.runtime !== undefined) {
    if (feed.runtime < trigger.runtimeBelow) return now;
  }
  if (trigger.onBattery !== undefined && battery && feed.batterySince !== undefined) {
    return feed.batterySince + trigger.onBattery;
  }
  return NEVER;
}

/** The k-th smallest of the times (1-based), NEVER when there are fewer. */
function kth(times: readonly number[], k: number): number {
  return [...times].sort((a, b) => a - b)[k - 1] ?? NEVER;
}

function describeFeeds(rule: HostOfflineRule, feeds: Readonly<Record<string, FeedView>>): string {
  return rule.feeds
    .map((ups) => {
      const feed = feeds[ups];
      if (feed === undefined) return `${ups} unknown`;
      const words = feed.dead
        ? 'dead'
        : `${feed.power === 'battery' ? 'on battery' : feed.power}${feed.fsd ? ' FSD' : ''}${feed.lowBattery ? ' LB' : ''}`;
      return `${ups} ${words} (${feed.source === 'own' ? 'own reading' : 'last briefing'})`;
    })
    .join(', ');
}

export function evaluateOffline(
  rule: HostOfflineRule,
  feeds: Readonly<Record<string, FeedView>>,
  memory: OfflineMemory,
  now: number,
): { readonly memory: OfflineMemory; readonly verdict: OfflineVerdict } {
  const seen = describeFeeds(rule, feeds);
  const ownMains = rule.feeds.filter((ups) => {
    const feed = feeds[ups];
    return feed?.source === 'own' && feed.power === 'online' && !inTrouble(feed);
  }).length;
  const calm = { ...memory, troubleSince: undefined, triggeredAt: {} };
  if (ownMains >= rule.minSupplies) return { memory: calm, verdict: { kind: 'mains', why: seen } };
  // A UPS never heard of counts as healthy, as in upsmon.
  const healthy = rule.feeds.filter((ups) => !inTrouble(feeds[ups])).length;
  if (healthy >= rule.minSupplies) return { memory: calm, verdict: { kind: 'fine', why: seen } };

  const troubleSince = memory.troubleSince ?? now;
  const triggeredAt: Record<string, number> = { ...memory.triggeredAt };
  const k = rule.feeds.length - rule.minSupplies + 1;
  const batterySince = kth(
    rule.feeds.flatMap((ups) => {
      const feed = feeds[ups];
      return feed?.source === 'own' && onBattery(feed) && feed.batterySince !== undefined
        ? [feed.batterySince]
        : [];
    }),
    k,
  );
  let best: Extract<OfflineVerdict, { kind: 'countdown' }> | undefined;
  for (const stage of rule.stages) {
    let holds = kth(
      rule.feeds.map((ups) => feedTriggerTime(stage.trigger, feeds[ups], now)),
      k,
    );
    if (holds <= now) {
      holds = Math.min(holds, triggeredAt[stage.stage] ?? holds);
      triggeredAt[stage.stage] = holds;
    } else if (triggeredAt[stage.stage] !== undefined) {
      holds = triggeredAt[stage.stage] ?? holds; // a stage that fired stays fired
    }
    if (holds === NEVER) continue;
    const bounded =
      stage.waitBound === null || batterySince === NEVER ? NEVER : batterySince + stage.waitBound;
    const at = Math.max(holds, Math.min(holds + stage.wait, bounded));
    if (best === undefined || at < best.at)
      best = { kind: 'countdown', at, by: 'offline', stage: stage.stage, why: seen };
  }
  if (rule.fallback !== null) {
    const at = Math.max(memory.lostAt, troubleSince) + rule.fallback.after;
    if (best === undefined || at < best.at)
      best = { kind: 'countdown', at, by: 'fallback', stage: null, why: seen };
  }
  const next = { ...memory, troubleSince, triggeredAt };
  return { memory: next, verdict: best ?? { kind: 'no-rule', why: seen } };
}
