/**
 * Briefings: each host's signed copy of what it needs to protect itself when the coordinator is
 * gone — the power of the UPSes that feed it (as the engine sees them), its minSupplies, the offline
 * rules of its stages (core/offline-rule.ts) and its fallback rule. Sent after the agent's hello, when the power of one of its feeds changes, and after
 * a policy is applied; signed again only when what it says has changed.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { signBriefing } from '../../../shared/src/tokens.js';
import type { UpsView } from '../core/engine-state.js';
import { compileOfflineRules, fallbackOf } from '../core/offline-rule.js';
import type { HostEntry, Policy } from '../core/policy.js';
import { hostsFedBy, inTrouble } from '../core/triggers.js';
import type { Hub } from '../ws/hub.js';

type UpsViews = Readonly<Record<string, UpsView>>;
type Feed = BriefingClaims['feeds'][number];
export type BriefingContent = Omit<BriefingClaims, 'version'>;

/**
 * One feed as a host should read it: `battery` whenever the engine counts the UPS as in trouble (on
 * battery, dead, or forced shutdown), `unknown` for a UPS never heard from.
 */
export function feedOf(ups: string, view: UpsView | undefined): Feed {
  if (view === undefined) return { ups, power: 'unknown', dead: false, observedAt: 0 };
  const seen = view.lastSeen ?? view.batterySince ?? view.onlineSince ?? 0;
  return {
    ups,
    power: inTrouble(view) ? 'battery' : view.power,
    dead: view.dead,
    observedAt: Math.max(0, Math.round(seen)),
  };
}

export function briefingContent(policy: Policy, host: HostEntry, ups: UpsViews): BriefingContent {
  return {
    kind: 'briefing',
    feeds: host.ups.map((name) => feedOf(name, ups[name])),
    minSupplies: host.minSupplies,
    fallback: fallbackOf(policy, host),
    offline: compileOfflineRules(policy, host.name),
  };
}

/** Equal keys: the same briefing apart from when its feeds were last heard from. */
export function contentKey(content: BriefingContent): string {
  return JSON.stringify([
    content.feeds.map((feed) => [feed.ups, feed.power, feed.dead]),
    content.minSupplies,
    content.fallback?.after ?? null,
    content.offline,
  ]);
}

/** The UPSes whose power, as a briefing tells it, differs between two engine states. */
export function changedFeeds(before: UpsViews, after: UpsViews): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => {
    const was = feedOf(name, before[name]);
    const now = feedOf(name, after[name]);
    return was.power !== now.power || was.dead !== now.dead;
  });
}

/** The setting that holds the highest briefing version reserved so far. */
export const BRIEFING_VERSION_SETTING = 'briefing-version';
/** How far ahead of the clock one stored reservation reaches. */
const RESERVE_MS = 60_000;

/**
 * Stores `atLeast` as the reserved ceiling unless a larger one is stored; returns the stored one
 * (`raiseCounterSetting` on the settings table in production).
 */
export type RaiseCeiling = (atLeast: number) => Promise<number>;

/**
 * Briefing versions: the clock in ms, but always above every version issued before, across
 * restarts and a clock that steps back. The reserved ceiling is stored; one write per minute at most.
 */
export function createVersionCounter(raise: RaiseCeiling, clock: Clock): () => Promise<number> {
  let last: number | undefined;
  let reserved = 0;
  return async () => {
    if (last === undefined) {
      reserved = await raise(0);
      last = reserved;
    }
    const version = Math.max(last + 1, Math.floor(clock.now()));
    if (version > reserved) reserved = await raise(version + RESERVE_MS);
    last = version;
    return version;
  };
}

export interface BriefingDeps {
  readonly raiseVersionCeiling: RaiseCeiling;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: SigningKeyPair;
}

interface Target {
  readonly name: string;
  readonly agentId: string;
  readonly content: BriefingContent;
  readonly key: string;
}

/** The briefings of the connected host agents. Every method must run in the fleet's serial queue. */
export function createBriefings(deps: BriefingDeps) {
  const { hub, logger } = deps;
  /** Host name → id of the agent that said hello under that name. */
  const agents = new Map<string, string>();
  /** Agent id → what its latest briefing said. */
  const sent = new Map<string, string>();
  const nextVersion = createVersionCounter(deps.raiseVersionCeiling, deps.clock);

  /** Signs and sends one version to each host that needs it. Never rejects: a failure is logged. */
  async function send(
    policy: Policy | undefined,
    ups: UpsViews,
    names: Iterable<string>,
    force: boolean,
  ): Promise<void> {
    if (policy === undefined) return;
    const targets: Target[] = [];
    for (const name of names) {
      const host = policy.hosts.get(name);
      const agentId = agents.get(name);
      if (host === undefined || agentId === undefined || !hub.isConnected(agentId)) continue;
      const content = briefingContent(policy, host, ups);
      const key = contentKey(content);
      if (force || sent.get(agentId) !== key) targets.push({ name, agentId, content, key });
    }
    if (targets.length === 0) return;
    try {
      const version = await nextVersion();
      const now = deps.clock.now();
      for (const target of targets) {
        const claims = { ...target.content, version };
        const token = await signBriefing(deps.signingKey, { agentId: target.agentId, claims, now });
        if (hub.send(target.agentId, { type: 'briefing', token })) sent.set(target.agentId, target.key);
      }
      const names = targets.map((target) => target.name);
      logger.info('briefing sent', {
        version,
        hosts: names.length > 5 ? `${names.slice(0, 5).join(',')},…` : names.join(','),
        count: names.length,
      });
    } catch (error) {
      logger.error('sending briefings failed', { error: errorMessage(error) });
    }
  }

  return {
    /** The agent said hello: it gets its briefing now, whatever it was sent before. */
    hello(policy: Policy | undefined, ups: UpsViews, agentId: string, name: string): Promise<void> {
      agents.set(name, agentId);
      sent.delete(agentId);
      return send(policy, ups, [name], true);
    },

    gone(name: string): void {
      const agentId = agents.get(name);
      if (agentId !== undefined) sent.delete(agentId);
      agents.delete(name);
    },

    /** After a decision: the hosts fed by a UPS whose power changed get a new briefing. */
    powerChanged(policy: Policy | undefined, before: UpsViews, after: UpsViews): Promise<void> {
      if (policy === undefined) return Promise.resolve();
      const changed = changedFeeds(before, after);
      if (changed.length === 0) return Promise.resolve();
      return send(policy, after, new Set(changed.flatMap((ups) => hostsFedBy(policy, ups))), false);
    },

    /** A new policy may change any host's feeds, minSupplies or fallback rule. */
    policyApplied(policy: Policy, ups: UpsViews): Promise<void> {
      return send(policy, ups, policy.hosts.keys(), false);
    },
  };
}
export type Briefings = ReturnType<typeof createBriefings>;
