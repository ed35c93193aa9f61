/**
 * The NUT bridge on its own. While it holds a valid lease the coordinator decides (its `nut-fsd`
 * orders); without one — link closed, link silent, or the coordinator up but its database gone — the
 * bridge counts as on its own within 15 s and applies each legacy host's offline rule (issue 8, in
 * its signed state) itself, with the hosts' own evaluator (fallback/offline-evaluator.ts), on its
 * own reading of upsd (`bridge.upsd:`) and its own clock: on-battery time counts from when the
 * bridge saw the power go, mains in its reading → never. When a host's rule says so it shows FSD to
 * that host's NUT clients, once.
 *
 * The episode is kept on disk (bridge-offline.json): a restarted bridge resumes each countdown at its
 * original time and shows the FSD it already showed. When a valid lease returns the coordinator
 * decides again; the bridge reports for each host what it did (an offline report with `host`; its
 * `shutdown`, which counts the host down, only when the host's client was seen leaving after the FSD
 * the bridge showed: otherwise the coordinator's `nut-fsd` order confirms it), and FSD it showed
 * stays shown until the coordinator has recorded that report: from then on the coordinator's state
 * decides (its run shows that host FSD until it restores). The coordinator signs
 * and sends its state after recording a report and before acknowledging it, so the state held when
 * the acknowledgement is handled (run-agent.ts lets pending states be verified first) already says
 * so. A bridge machine that rebooted since shows none.
 */
import type { CryptoKey } from 'jose';
import { z } from 'zod';
import type { Clock } from '../../../shared/src/clock.js';
import { formatDuration } from '../../../shared/src/duration.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { interpretStatus } from '../../../shared/src/nut-status.js';
import { describeOfflineRules } from '../../../shared/src/offline-rule-text.js';
import type { AgentMessage, BridgeClaims } from '../../../shared/src/protocol.js';
import { MAX_LEASE_MS } from '../../../shared/src/tokens.js';
import { readFileIfExists, writeFileAtomic } from '../atomic-file.js';
import { describeVerdict, verdictKey } from '../fallback/fail-safe.js';
import { createLeaseWatch, realSchedule, type Schedule } from '../fallback/lease-watch.js';
import { evaluateOffline, type FeedView } from '../fallback/offline-evaluator.js';
import {
  createReportSender,
  type Episode,
  EpisodeSchema,
  keptReports,
  type OfflineReport,
  type OfflineStep,
  toReport,
} from '../fallback/offline-file.js';
import { changedReadings, type OwnReading, ownView } from '../fallback/own-reading.js';
import { parseJsonFile } from '../state-dir.js';
import type { BridgeState } from './bridge-state.js';

/**
 * A legacy host's episode on the bridge. `shutdown` marks the host as done with (FSD shown by its
 * rule, or already shown by the coordinator); `leftAt` is when its NUT client was seen leaving after
 * FSD the bridge showed: only then does its report say the shutdown started (the coordinator counts
 * the host down from it, as the online path does when the client leaves).
 */
const BridgeEpisodeSchema = EpisodeSchema.extend({ leftAt: z.number().optional() });
type BridgeEpisode = z.infer<typeof BridgeEpisodeSchema>;

const FileSchema = z.object({
  version: z.literal(1),
  /** While on its own: when it lost the lease, and per legacy host its countdown and what it did. */
  episode: z.object({ lostAt: z.number(), hosts: z.record(z.string(), BridgeEpisodeSchema) }).optional(),
  /** Reports not yet acknowledged by the coordinator. */
  reports: z.array(z.unknown()),
  /** Per legacy host shown FSD on the bridge's own verdict: when, and the report that tells it. */
  shown: z.record(z.string(), z.object({ at: z.number(), report: z.string() })),
});
type Shown = z.infer<typeof FileSchema>['shown'][string];

export interface BridgeOfflineOptions {
  readonly state: BridgeState;
  readonly coordinatorKeys: () => readonly CryptoKey[];
  readonly clockToleranceMs: number;
  /** bridge-offline.json in the state dir. */
  readonly file: string;
  /** Sends a frame to the coordinator; rejects when the link is down. */
  readonly send: (message: AgentMessage) => Promise<void>;
  /** When this machine booted (ms since the epoch): an older episode is over. */
  readonly bootTime: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly schedule?: Schedule;
}

export interface BridgeOffline {
  lease(token: string): void;
  linkState(state: 'connecting' | 'open' | 'closed' | 'stopped'): void;
  /** What the bridge reads itself changed (its `bridge.upsd:` list). */
  ownReadings(readings: Readonly<Record<string, OwnReading>>): void;
  /** A legacy host's NUT client left (logout or disconnect) while shown FSD. */
  left(host: string, how: string): void;
  offlineAck(id: string): void;
  onItsOwn(): boolean;
  /** While on its own, what it reads itself (to serve it); empty otherwise. */
  served(): Readonly<Record<string, OwnReading>>;
  /** Resolves when every input so far is handled and written. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type Host = BridgeClaims['hosts'][number];

/** Per feed of the host: the bridge's own reading when that counts, else what the last state said. */
export function bridgeFeedViews(
  claims: BridgeClaims,
  host: Host,
  own: Readonly<Record<string, OwnReading>>,
): Record<string, FeedView> {
  const views: Record<string, FeedView> = {};
  for (const name of host.ups) {
    const reading = own[name];
    if (reading !== undefined && (reading.fresh || reading.dead)) {
      views[name] = ownView(reading);
      continue;
    }
    const ups = claims.upses.find((each) => each.name === name);
    if (ups === undefined) continue; // never heard of: counts as healthy, as in upsmon
    views[name] = {
      source: 'briefing',
      power: ups.dead ? 'battery' : interpretStatus(ups.status).power,
      lowBattery: false,
      fsd: false,
      dead: ups.dead,
      charge: undefined,
      runtime: undefined,
      batterySince: undefined,
    };
  }
  return views;
}

const reportId = (lostAt: number, host: string) => `offline:${Math.round(lostAt)}:${host}`;

/**
 * The host's report: `shutdown` only when its client was seen leaving after the FSD the bridge
 * showed. FSD shown is not a shutdown yet; without the leaving the coordinator's own `nut-fsd` order
 * confirms it (answered with the leaving, when it comes).
 */
function hostReport(each: BridgeEpisode): OfflineReport {
  const { leftAt, shutdown, ...rest } = each;
  const confirmed: Episode =
    leftAt === undefined || shutdown === undefined
      ? rest
      : { ...rest, shutdown: { ...shutdown, at: leftAt } };
  return toReport(confirmed, each.steps);
}

export async function openBridgeOffline(options: BridgeOfflineOptions): Promise<BridgeOffline> {
  const { state, clock, logger } = options;
  const schedule = options.schedule ?? realSchedule;

  let episode: { lostAt: number; hosts: Record<string, BridgeEpisode> } | undefined;
  let reports: OfflineReport[] = [];
  let shown: Record<string, Shown> = {};
  try {
    const text = await readFileIfExists(options.file);
    if (text !== undefined) {
      const data = parseJsonFile(FileSchema, text, options.file);
      episode = data.episode;
      reports = keptReports(data.reports);
      shown = data.shown;
    }
  } catch (error) {
    logger.warn(`ignoring ${options.file}: ${errorMessage(error)}`);
  }
  const toReports = (ended: NonNullable<typeof episode>): OfflineReport[] =>
    Object.entries(ended.hosts)
      .filter(([, each]) => each.steps.some((step) => step.what !== 'lost' && step.what !== 'back'))
      .map(([host, each]) => ({ ...hostReport(each), id: reportId(ended.lostAt, host), host }));
  if (episode !== undefined && episode.lostAt < options.bootTime) {
    // The machine went down and came back: that episode is over; only its reports are left to send.
    reports = [...reports, ...toReports(episode)];
    episode = undefined;
  }
  // FSD shown before this machine booted is from an outage that is over (power came back for it).
  shown = Object.fromEntries(Object.entries(shown).filter(([, each]) => each.at >= options.bootTime));
  for (const host of Object.keys(shown)) state.setOfflineFsd(host, true);

  let own: Readonly<Record<string, OwnReading>> = {};
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  let writes: Promise<void> = Promise.resolve();
  const reportSender = createReportSender(options.send);
  const lastVerdict = new Map<string, string>();
  let due: { at: number; cancel: () => void } | undefined;

  const enqueue = (task: () => Promise<void> | void): void => {
    chain = chain
      .then(task)
      .catch((error: unknown) => logger.error(`bridge offline: ${errorMessage(error)}`));
  };
  /** What the file holds (or will, once the queued write is done): an unchanged state is not written again. */
  let saved: string | undefined;
  /** Writes the state when it changed (every poll on its own evaluates; most change nothing). */
  const persist = (): void => {
    const data = { version: 1, ...(episode === undefined ? {} : { episode }), reports, shown };
    const text = `${JSON.stringify(data, null, 2)}\n`;
    if (text === saved) return;
    saved = text;
    writes = writes
      .then(() => writeFileAtomic(options.file, text, 0o600))
      .catch((error: unknown) => {
        if (saved === text) saved = undefined; // written again at the next change or poll
        logger.error(`bridge: could not store its offline state: ${errorMessage(error)}`);
      });
  };
  const step = (host: string, what: OfflineStep['what'], detail: string): void => {
    const current = episode?.hosts[host];
    if (episode === undefined || current === undefined) return;
    episode.hosts[host] = { ...current, steps: [...current.steps, { at: clock.now(), what, detail }] };
  };
  const sendReports = (): void => reportSender.send(reports);

  const lease = createLeaseWatch({
    keys: options.coordinatorKeys,
    clockToleranceMs: options.clockToleranceMs,
    until: episode === undefined ? clock.now() + MAX_LEASE_MS : 0,
    clock,
    logger,
    schedule,
    enqueue,
    expired: () => {
      if (episode === undefined)
        goOnItsOwn('no valid lease from the coordinator (silent link, or its database gone)');
    },
  });

  const armDue = (at: number | undefined): void => {
    if (due !== undefined && due.at === at) return;
    due?.cancel();
    due = undefined;
    if (at === undefined || stopped) return;
    due = {
      at,
      // A timer that fires a little early by the wall clock only evaluates again and re-arms.
      cancel: schedule(Math.max(0, at - clock.now()), () => {
        due = undefined;
        enqueue(evaluate);
      }),
    };
  };

  function goOnItsOwn(why: string): void {
    lease.disarm();
    const now = clock.now();
    episode = { lostAt: now, hosts: {} };
    lastVerdict.clear();
    const hosts = state.claims?.hosts ?? [];
    const rules = hosts.map((host) => `${host.name}: ${describeOfflineRules(host.offline, null)}`);
    logger.warn(
      `bridge on its own: ${why}; applying its legacy hosts' offline rules itself` +
        (hosts.length === 0 ? ' (it serves no legacy host)' : ` (${rules.join('; ')})`),
    );
    evaluate(why);
  }

  /** Evaluates every legacy host's rule; shows FSD to those whose rule says now. */
  function evaluate(lostWhy?: string): void {
    const current = episode;
    if (stopped || current === undefined) {
      armDue(undefined);
      return;
    }
    const claims = state.claims;
    if (claims === undefined) {
      if (!lastVerdict.has('')) logger.warn('bridge on its own with no state from the coordinator: no rules');
      lastVerdict.set('', 'no-state');
      persist();
      return;
    }
    const now = clock.now();
    let next: number | undefined;
    for (const host of claims.hosts) {
      const mine = current.hosts[host.name] ?? {
        lostAt: current.lostAt,
        triggeredAt: {},
        steps: [
          { at: current.lostAt, what: 'lost', detail: lostWhy ?? 'no valid lease from the coordinator' },
        ],
      };
      current.hosts[host.name] = mine;
      if (mine.shutdown !== undefined) continue;
      const rule = {
        feeds: host.ups,
        minSupplies: host.minSupplies,
        stages: host.offline,
        fallback: host.fallback,
      };
      const memory = { lostAt: mine.lostAt, troubleSince: mine.troubleSince, triggeredAt: mine.triggeredAt };
      const result = evaluateOffline(rule, bridgeFeedViews(claims, host, own), memory, now);
      const { verdict } = result;
      current.hosts[host.name] = {
        ...mine,
        triggeredAt: { ...result.memory.triggeredAt },
        troubleSince: result.memory.troubleSince,
      };
      const key = verdictKey(verdict);
      const before = lastVerdict.get(host.name) ?? '';
      if (key !== before) {
        const line = `bridge on its own, for ${host.name}: ${describeVerdict(verdict, now)}`;
        if (verdict.kind === 'countdown') {
          logger.warn(line);
          step(host.name, 'countdown', describeVerdict(verdict, now));
        } else {
          logger.info(line);
          if (before.startsWith('countdown')) step(host.name, 'cancelled', `${verdict.kind}: ${verdict.why}`);
        }
        lastVerdict.set(host.name, key);
      }
      if (verdict.kind !== 'countdown') continue;
      if (verdict.at > now) {
        next = Math.min(next ?? verdict.at, verdict.at);
        continue;
      }
      const already = state.fsd(host.name);
      const shutdown = { at: now, rule: verdict.by, stage: verdict.stage };
      current.hosts[host.name] = { ...(current.hosts[host.name] ?? mine), shutdown };
      if (already) {
        logger.warn(`bridge on its own: ${host.name} is already shown FSD (the coordinator's order)`);
        step(host.name, 'shutdown', 'already shown FSD by the coordinator');
        continue;
      }
      shown[host.name] = { at: now, report: reportId(current.lostAt, host.name) };
      step(host.name, 'shutdown', `FSD shown to its NUT clients by stage ${verdict.stage}'s offline rule`);
      logger.warn(
        `bridge on its own: FSD shown to ${host.name}'s NUT clients by stage ${verdict.stage}'s offline rule`,
      );
      state.setOfflineFsd(host.name, true);
    }
    armDue(next);
    persist();
  }

  const acceptLease = async (token: string): Promise<void> => {
    const accepted = await lease.accept(token);
    if (accepted === undefined) return;
    logger.debug(`bridge: lease ${accepted.seq}: the coordinator decides for ${accepted.ttlMs} ms`);
    const ended = episode;
    if (ended !== undefined) {
      for (const host of Object.keys(ended.hosts))
        step(host, 'back', 'a valid lease again: the coordinator decides');
      episode = undefined;
      armDue(undefined);
      reports = [...reports, ...toReports(ended)];
      const showing = Object.keys(shown);
      logger.warn(
        `bridge: a valid lease again after ${formatDuration(Math.max(0, clock.now() - ended.lostAt))} on its own: ` +
          'the coordinator decides' +
          (showing.length === 0 ? '' : ` (FSD it showed stays shown: ${showing.join(', ')})`),
      );
      persist();
    }
    if (!stopped) lease.arm();
    sendReports();
  };

  if (episode !== undefined) {
    logger.warn(
      `bridge: resuming on its own since ${new Date(episode.lostAt).toISOString()}: each countdown keeps its original time`,
    );
    enqueue(() => evaluate());
  } else lease.arm();

  return {
    lease: (token) => enqueue(() => acceptLease(token)),
    linkState: (link) =>
      enqueue(() => {
        if (link === 'open') {
          lease.linkOpened();
          reportSender.linkOpened();
        }
        if (link === 'closed' && episode === undefined) goOnItsOwn('lost the connection to the coordinator');
      }),
    ownReadings: (readings) =>
      enqueue(() => {
        const before = own;
        own = readings;
        if (episode === undefined) return;
        const claims = state.claims;
        for (const { id, seen } of changedReadings(before, readings))
          for (const host of claims?.hosts ?? [])
            if (host.ups.includes(id)) step(host.name, 'saw', `${id} ${seen} (bridge's reading)`);
        evaluate();
      }),
    left: (host, how) =>
      enqueue(() => {
        const current = episode?.hosts[host];
        if (episode === undefined || current?.shutdown === undefined || shown[host] === undefined) return;
        if (current.leftAt !== undefined) return;
        episode.hosts[host] = { ...current, leftAt: clock.now() };
        step(host, 'saw', `its NUT client left after FSD (${how}): shutdown started`);
        persist();
      }),
    offlineAck: (id) =>
      enqueue(() => {
        const before = reports.length;
        reports = reports.filter((report) => report.id !== id);
        if (reports.length === before) return;
        logger.info(`bridge: the coordinator recorded what it did on its own (${id})`);
        // The coordinator's state decides that host's FSD from now on.
        for (const [host, each] of Object.entries(shown)) {
          if (each.report !== id) continue;
          delete shown[host];
          state.setOfflineFsd(host, false);
          logger.info(
            `bridge: the coordinator decides ${host}'s FSD again` +
              (state.fsd(host) ? ' (still shown: its run has not restored)' : ' (cleared: no run shows it)'),
          );
        }
        persist();
      }),
    onItsOwn: () => episode !== undefined,
    served: () => (episode === undefined ? {} : own),
    idle: async () => {
      await chain;
      await writes;
    },
    async stop() {
      stopped = true;
      lease.disarm();
      due?.cancel();
      await chain;
      await writes;
    },
  };
}
