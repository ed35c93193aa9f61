/**
 * What a host reads from upsd itself (`host.upsd:`), after upsmon's rules (watcher/notify-events.ts),
 * and how that and its briefing become the feeds its offline rule is evaluated on. Pure.
 *
 * - A reading counts while it is fresh (a good answer within the dead time) or when the UPS is dead
 *   (last seen on battery, then silent past the dead time: critical, as upsmon says).
 * - Unknown (stale, WAIT, refused login, upsd unreachable) is never battery: that feed is then known
 *   only from the last briefing.
 * - On-battery time counts from when THIS host first saw OB; an unknown blip neither starts nor ends it.
 */
import { interpretStatus } from '../../../shared/src/nut-status.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import type { Reading, UnknownReason, WatchState } from '../watcher/notify-events.js';
import type { FeedView } from './offline-evaluator.js';
import type { LastKnownPower } from './power-health.js';

export interface OwnReading {
  readonly ups: string;
  /** The words of the last good answer (null before the first). */
  readonly status: readonly string[] | null;
  /** Why the last poll gave no answer; undefined when it did. */
  readonly reason: UnknownReason | undefined;
  readonly detail: string | undefined;
  readonly fresh: boolean;
  readonly dead: boolean;
  readonly batterySince: number | undefined;
  /** % */
  readonly charge: number | undefined;
  /** ms */
  readonly runtime: number | undefined;
  /** When it was last polled (this host's clock). */
  readonly at: number;
  /** When upsd last answered. */
  readonly lastGoodAt: number | undefined;
}

function numberVar(vars: Readonly<Record<string, string>>, name: string): number | undefined {
  const value = Number.parseFloat(vars[name] ?? '');
  return Number.isFinite(value) ? value : undefined;
}

export function nextOwnReading(
  previous: Pick<OwnReading, 'batterySince' | 'charge' | 'runtime'> | undefined,
  ups: string,
  watch: WatchState,
  reading: Reading,
  now: number,
  deadTimeMs: number,
): OwnReading {
  const fresh = watch.lastGoodAt !== null && now - watch.lastGoodAt <= deadTimeMs;
  const power = fresh ? interpretStatus(watch.status).power : 'unknown';
  const battery = watch.dead || power === 'battery';
  const batterySince = battery
    ? (previous?.batterySince ?? now)
    : power === 'online'
      ? undefined
      : previous?.batterySince;
  const vars = reading.kind === 'ok' ? reading.vars : undefined;
  const runtime = vars === undefined ? undefined : numberVar(vars, 'battery.runtime');
  return {
    ups,
    status: watch.status,
    reason: reading.kind === 'unknown' ? reading.reason : undefined,
    detail: reading.kind === 'unknown' ? reading.detail : undefined,
    fresh,
    dead: watch.dead,
    batterySince,
    charge: vars === undefined ? previous?.charge : numberVar(vars, 'battery.charge'),
    runtime: vars === undefined ? previous?.runtime : runtime === undefined ? undefined : runtime * 1_000,
    at: now,
    lastGoodAt: watch.lastGoodAt ?? undefined,
  };
}

/** The readings that changed (status, reason or dead verdict as described), with their description. */
export function changedReadings(
  before: Readonly<Record<string, OwnReading>>,
  after: Readonly<Record<string, OwnReading>>,
): { id: string; seen: string }[] {
  return Object.entries(after).flatMap(([id, reading]) => {
    const was = before[id];
    const seen = describeOwnReading(reading);
    return was !== undefined && describeOwnReading(was) === seen ? [] : [{ id, seen }];
  });
}

/** `OB DISCHRG`, `dead (silent after OB)`, `unknown (access-denied)`. */
export function describeOwnReading(reading: OwnReading): string {
  if (reading.dead) return 'dead (silent after being on battery)';
  if (reading.fresh) return reading.status?.join(' ') ?? 'unknown';
  return `unknown (${reading.reason ?? 'no answer yet'})`;
}

export function ownView(reading: OwnReading): FeedView {
  const words = interpretStatus(reading.status);
  return {
    source: 'own',
    power: reading.dead ? 'battery' : words.power,
    lowBattery: words.lowBattery,
    fsd: words.fsd,
    dead: reading.dead,
    charge: reading.charge,
    runtime: reading.runtime,
    batterySince: reading.batterySince,
  };
}

function briefedView(feed: BriefingClaims['feeds'][number], lastKnown: LastKnownPower): FeedView {
  const power =
    feed.dead || feed.power === 'battery'
      ? 'battery'
      : feed.power === 'online'
        ? 'online'
        : (lastKnown[feed.ups] ?? 'unknown');
  return {
    source: 'briefing',
    power,
    lowBattery: false,
    fsd: false,
    dead: feed.dead,
    charge: undefined,
    runtime: undefined,
    batterySince: undefined,
  };
}

/** Per feed of the briefing: its own reading when that counts, else what the briefing said. */
export function feedViews(
  claims: BriefingClaims,
  lastKnown: LastKnownPower,
  own: Readonly<Record<string, OwnReading>>,
): Record<string, FeedView> {
  const views: Record<string, FeedView> = {};
  for (const feed of claims.feeds) {
    const reading = own[feed.ups];
    views[feed.ups] =
      reading !== undefined && (reading.fresh || reading.dead)
        ? ownView(reading)
        : briefedView(feed, lastKnown);
  }
  return views;
}
