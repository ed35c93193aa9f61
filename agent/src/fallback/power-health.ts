/**
 * How a host reads its briefing: which of its feeds are healthy, and whether fewer than its
 * minSupplies are (NUT's MINSUPPLIES rule). Pure.
 *
 * A feed is healthy when it is online and not dead. `unknown` is never read as on battery, nor as
 * fine after it: it keeps the last power this host was told for that feed, so unknown after battery
 * is not healthy, while a UPS never heard of counts as healthy (as in upsmon and the coordinator).
 */
import type { BriefingClaims } from '../../../shared/src/protocol.js';

type Feed = BriefingClaims['feeds'][number];

/** Per feed, the last power a briefing stated (dead counts as battery). */
export type LastKnownPower = Readonly<Record<string, 'online' | 'battery'>>;

export interface PowerHealth {
  readonly healthy: number;
  readonly needed: number;
  /** Fewer healthy feeds than needed. */
  readonly inTrouble: boolean;
  /** For log lines: `nas-ups on battery (0 of 1 feeds healthy, 1 needed)`. */
  readonly summary: string;
}

function stated(feed: Feed): 'online' | 'battery' | undefined {
  if (feed.dead || feed.power === 'battery') return 'battery';
  return feed.power === 'online' ? 'online' : undefined;
}

export function isFeedHealthy(feed: Feed, lastKnown: LastKnownPower): boolean {
  return (stated(feed) ?? lastKnown[feed.ups] ?? 'online') === 'online';
}

/** The last known power per feed after a new briefing: what it states, else what was known before. */
export function nextLastKnown(previous: LastKnownPower, claims: BriefingClaims): LastKnownPower {
  const next: Record<string, 'online' | 'battery'> = {};
  for (const feed of claims.feeds) {
    const power = stated(feed) ?? previous[feed.ups];
    if (power !== undefined) next[feed.ups] = power;
  }
  return next;
}

function describeFeed(feed: Feed, lastKnown: LastKnownPower): string {
  if (feed.dead) return `${feed.ups} dead (silent after being on battery)`;
  if (feed.power === 'battery') return `${feed.ups} on battery`;
  if (feed.power === 'online') return `${feed.ups} online`;
  const known = lastKnown[feed.ups];
  return known === undefined ? `${feed.ups} unknown` : `${feed.ups} unknown (last known ${known})`;
}

export function assessPower(claims: BriefingClaims, lastKnown: LastKnownPower): PowerHealth {
  const healthy = claims.feeds.filter((feed) => isFeedHealthy(feed, lastKnown)).length;
  const needed = claims.minSupplies;
  const feeds = claims.feeds.map((feed) => describeFeed(feed, lastKnown)).join(', ') || 'no feeds';
  return {
    healthy,
    needed,
    inTrouble: healthy < needed,
    summary: `${feeds} (${healthy} of ${claims.feeds.length} feeds healthy, ${needed} needed)`,
  };
}
