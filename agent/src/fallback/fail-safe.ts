/**
 * The host on its own. While it holds a valid lease the coordinator decides; without one — link
 * closed, link silent, or the coordinator up but its database gone — the host counts as on its own
 * within 15 s and follows its signed offline rule (offline-evaluator.ts) on its own reading and
 * clock. This shell verifies and caches briefings, verifies leases, keeps the episode on disk (a
 * restart resumes the countdown at its original time), runs the hooks and shutdown once, and reports
 * what it did when a valid lease returns.
 */
import type { CryptoKey } from 'jose';
import type { Clock } from '../../../shared/src/clock.js';
import { formatDuration } from '../../../shared/src/duration.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { describeOfflineRules } from '../../../shared/src/offline-rule-text.js';
import type { AgentMessage, BriefingClaims } from '../../../shared/src/protocol.js';
import { SignatureError } from '../../../shared/src/signing.js';
import { MAX_LEASE_MS, verifyBriefing } from '../../../shared/src/tokens.js';
import { verifyWithAny } from '../pinned-key.js';
import { type CachedBriefing, loadBriefingCache, saveBriefingCache } from './briefing-cache.js';
import type { OwnShutdownRun } from './fallback-shutdown.js';
import { offlineId } from './fallback-shutdown.js';
import { createLeaseWatch, realSchedule, type Schedule } from './lease-watch.js';
import { evaluateOffline, type OfflineVerdict } from './offline-evaluator.js';
import {
  createReportSender,
  type Episode,
  loadOfflineFile,
  type OfflineReport,
  type OfflineStep,
  saveOfflineFile,
  toReport,
} from './offline-file.js';
import { changedReadings, feedViews, type OwnReading } from './own-reading.js';
import { assessPower, nextLastKnown } from './power-health.js';
import type { ShutdownLatch } from './shutdown-latch.js';

export type { Schedule } from './lease-watch.js';

export interface FailSafeOptions {
  /** This agent's id: the audience every briefing must carry. */
  readonly agentId: string;
  readonly coordinatorKey: CryptoKey;
  /** When given, the keys to try instead (the pinned key, and the previous one just after a rotation). */
  readonly coordinatorKeys?: () => readonly CryptoKey[];
  readonly clockToleranceMs: number;
  /** briefing.json in the state dir. */
  readonly file: string;
  /** offline.json in the state dir. */
  readonly offlineFile: string;
  /** Runs the hooks and shutdown once per id; never rejects. */
  readonly runShutdown: (run: OwnShutdownRun) => Promise<string>;
  readonly latch: ShutdownLatch;
  /** Sends a frame to the coordinator; rejects when the link is down. */
  readonly send: (message: AgentMessage) => Promise<void>;
  /** When this machine booted (ms since the epoch): older cached state is stale. */
  readonly bootTime: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly schedule?: Schedule;
}

export interface FailSafe {
  briefing(token: string): void;
  lease(token: string): void;
  /** The link's state: `closed` puts the host on its own at once; `open` restarts the lease's replay floor. */
  linkState(state: 'connecting' | 'open' | 'closed' | 'stopped'): void;
  /** The host's own readings changed (its `host.upsd:` list). */
  ownReadings(readings: Readonly<Record<string, OwnReading>>): void;
  offlineAck(id: string): void;
  /** The latest verified briefing's claims, if any. */
  claims(): BriefingClaims | undefined;
  /** True while the host is on its own. */
  onItsOwn(): boolean;
  /** Resolves when every input so far is handled and a started shutdown has finished. */
  idle(): Promise<void>;
  /** Cancels the countdown and ignores further inputs; a running shutdown is left alone. */
  stop(): Promise<void>;
}

export function verdictKey(verdict: OfflineVerdict): string {
  return verdict.kind === 'countdown'
    ? `countdown:${verdict.at}:${verdict.by}:${verdict.stage}`
    : verdict.kind;
}

export function describeVerdict(verdict: OfflineVerdict, now: number): string {
  if (verdict.kind !== 'countdown') return `${verdict.kind}: ${verdict.why}`;
  const rule = verdict.by === 'fallback' ? 'the fallback rule' : `stage ${verdict.stage}'s offline rule`;
  const when =
    verdict.at <= now
      ? 'now'
      : `at ${new Date(verdict.at).toISOString()} (in ${formatDuration(verdict.at - now)})`;
  return `shutting down ${when} by ${rule} — ${verdict.why}`;
}

export async function openFailSafe(options: FailSafeOptions): Promise<FailSafe> {
  const { clock, logger } = options;
  const schedule = options.schedule ?? realSchedule;
  const keys = () => options.coordinatorKeys?.() ?? [options.coordinatorKey];
  const tolerance = options.clockToleranceMs;
  const verify = async (token: string) =>
    (
      await verifyWithAny(keys(), (key) =>
        verifyBriefing(token, key, {
          agentId: options.agentId,
          now: clock.now(),
          clockToleranceMs: tolerance,
        }),
      )
    ).claims;

  const loaded = await loadBriefingCache(options.file, { verify, bootTime: options.bootTime, logger });
  let floor = loaded.floor;
  let briefing: CachedBriefing | undefined = loaded.briefing;
  if (briefing !== undefined) {
    const { claims } = briefing;
    logger.info(`cached briefing ${claims.version}: ${assessPower(claims, briefing.lastKnown).summary}`);
  }
  const stored = await loadOfflineFile(options.offlineFile, logger);
  let reports: OfflineReport[] = stored.reports;
  let episode: Episode | undefined = stored.episode;
  if (episode !== undefined && episode.lostAt < options.bootTime) {
    // The machine went down and came back: that episode is over; only its report is left to send.
    reports = [...reports, toReport(episode, episode.steps)];
    episode = undefined;
  }
  if (episode?.shutdown !== undefined)
    options.latch.markOwn(`it shut down on its own at ${new Date(episode.shutdown.at).toISOString()}`);

  let own: Readonly<Record<string, OwnReading>> = {};
  let lastVerdict = '';
  const reportSender = createReportSender(options.send);
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  let shutdowns: Promise<void> = Promise.resolve();
  let writes: Promise<void> = Promise.resolve();
  const timers: { due: { at: number; cancel: () => void } | undefined } = { due: undefined };

  const enqueue = (task: () => Promise<void> | void): void => {
    chain = chain.then(task).catch((error: unknown) => logger.error(`fail-safe: ${errorMessage(error)}`));
  };
  /** The lease: at start, the time a first lease has to arrive (none while resuming an episode). */
  const lease = createLeaseWatch({
    keys,
    clockToleranceMs: tolerance,
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
  /** What offline.json holds (as last written here); an unchanged state is not written again. */
  let written: string | undefined;
  const persist = (): void => {
    const file = { episode, reports };
    const text = JSON.stringify(file);
    writes = writes
      .then(async () => {
        if (text === written) return; // every own reading (about 1 s) while on its own: spare the disk
        written = undefined;
        await saveOfflineFile(options.offlineFile, file);
        written = text;
      })
      .catch((error: unknown) => logger.error(`could not store the offline state: ${errorMessage(error)}`));
  };
  const step = (what: OfflineStep['what'], detail: string): void => {
    if (episode === undefined) return;
    episode = { ...episode, steps: [...episode.steps, { at: clock.now(), what, detail }] };
    persist();
  };

  const sendReports = (): void => reportSender.send(reports);

  const armLease = (): void => {
    if (stopped || episode !== undefined) lease.disarm();
    else lease.arm();
  };

  const armDue = (at: number | undefined): void => {
    if (timers.due !== undefined && timers.due.at === at) return;
    timers.due?.cancel();
    timers.due = undefined;
    if (at === undefined || stopped) return;
    timers.due = {
      at,
      cancel: schedule(Math.max(0, at - clock.now()), () => {
        timers.due = undefined;
        enqueue(evaluate);
      }),
    };
  };

  function goOnItsOwn(why: string): void {
    lease.disarm();
    if (stopped) return; // an episode begun after stop would be resumed, and reported, by the next start
    const now = clock.now();
    episode = { lostAt: now, triggeredAt: {}, steps: [{ at: now, what: 'lost', detail: why }] };
    lastVerdict = '';
    const rules =
      briefing === undefined
        ? 'no briefing at hand'
        : describeOfflineRules(briefing.claims.offline, briefing.claims.fallback);
    logger.warn(`on its own: ${why}; following its offline rule (${rules})`);
    persist();
    evaluate();
  }

  function evaluate(): void {
    const current = episode;
    if (stopped || current === undefined || current.shutdown !== undefined) {
      armDue(undefined);
      return;
    }
    const now = clock.now();
    if (briefing === undefined) {
      if (lastVerdict !== 'no-briefing')
        logger.warn('on its own with no briefing at hand: no rule to follow, nothing will be shut down');
      lastVerdict = 'no-briefing';
      return;
    }
    const { claims, lastKnown } = briefing;
    const rule = {
      feeds: claims.feeds.map((feed) => feed.ups),
      minSupplies: claims.minSupplies,
      stages: claims.offline,
      fallback: claims.fallback,
    };
    const memory = {
      lostAt: current.lostAt,
      troubleSince: current.troubleSince,
      triggeredAt: current.triggeredAt,
    };
    const result = evaluateOffline(rule, feedViews(claims, lastKnown, own), memory, now);
    const { verdict } = result;
    episode = {
      ...current,
      triggeredAt: { ...result.memory.triggeredAt },
      troubleSince: result.memory.troubleSince,
    };
    const key = verdictKey(verdict);
    if (key !== lastVerdict) {
      const line = `on its own: ${describeVerdict(verdict, now)}`;
      if (verdict.kind === 'countdown') logger.warn(line);
      else logger.info(line);
      if (verdict.kind === 'countdown') step('countdown', describeVerdict(verdict, now));
      else if (lastVerdict.startsWith('countdown')) step('cancelled', `${verdict.kind}: ${verdict.why}`);
      lastVerdict = key;
    }
    persist();
    if (verdict.kind !== 'countdown') {
      armDue(undefined);
      return;
    }
    if (verdict.at > now) {
      armDue(verdict.at);
      return;
    }
    armDue(undefined);
    const byOrder = options.latch.orderReason();
    if (byOrder !== undefined) {
      logger.warn(`on its own, the rule says shut down, but ${byOrder}: not repeating it`);
      episode = { ...(episode ?? current), shutdown: { at: now, rule: verdict.by, stage: verdict.stage } };
      persist();
      return;
    }
    episode = { ...(episode ?? current), shutdown: { at: now, rule: verdict.by, stage: verdict.stage } };
    persist();
    const run = options.runShutdown({
      id: offlineId(current.lostAt),
      why: describeVerdict(verdict, now),
      step,
      started: () => options.latch.markOwn(`it shut down on its own at ${new Date(now).toISOString()}`),
    });
    shutdowns = shutdowns.then(() => run.then(() => undefined));
  }

  const acceptBriefing = async (token: string): Promise<void> => {
    let claims: BriefingClaims;
    try {
      claims = await verify(token);
    } catch (error) {
      const reason = error instanceof SignatureError ? error.reason : 'malformed';
      logger.warn(`briefing refused: ${reason}`, { detail: errorMessage(error) });
      return;
    }
    if (claims.version <= floor) {
      logger.warn(`briefing ${claims.version} ignored: not newer than ${floor} (replayed or out of order)`);
      return;
    }
    floor = claims.version;
    const next: CachedBriefing = {
      token,
      claims,
      receivedAt: clock.now(),
      lastKnown: nextLastKnown(briefing?.lastKnown ?? {}, claims),
    };
    briefing = next;
    try {
      await saveBriefingCache(options.file, next);
    } catch (error) {
      logger.error(`could not store the briefing (kept in memory only): ${errorMessage(error)}`);
    }
    const power = assessPower(claims, next.lastKnown).summary;
    logger.info(
      `briefing ${claims.version}: ${power}; on its own: ${describeOfflineRules(claims.offline, claims.fallback)}`,
    );
    evaluate();
  };

  const acceptLease = async (token: string): Promise<void> => {
    const accepted = await lease.accept(token);
    if (accepted === undefined) return;
    logger.debug(`lease ${accepted.seq}: the coordinator decides for ${accepted.ttlMs} ms`);
    if (episode !== undefined) {
      const ended = episode;
      step('back', 'a valid lease again: the coordinator decides');
      const done = episode ?? ended;
      episode = undefined;
      armDue(undefined);
      const acted = done.steps.some((each) => each.what !== 'lost' && each.what !== 'back');
      if (acted) reports = [...reports, toReport(done, done.steps)];
      persist();
      logger.warn(
        `a valid lease again after ${formatDuration(Math.max(0, clock.now() - done.lostAt))} on its own: the coordinator decides` +
          (done.shutdown === undefined ? '' : ' (this host already shut down on its own)'),
      );
    }
    armLease();
    sendReports();
  };

  armLease();
  if (episode !== undefined) {
    const since = `resuming on its own since ${new Date(episode.lostAt).toISOString()}`;
    if (episode.shutdown === undefined) {
      logger.warn(`${since}: the countdown keeps its original time`);
      enqueue(evaluate);
    } else
      logger.warn(
        `${since}: its shutdown already ran at ${new Date(episode.shutdown.at).toISOString()}; not repeating it`,
      );
  }

  return {
    briefing: (token) => enqueue(() => acceptBriefing(token)),
    lease: (token) => enqueue(() => acceptLease(token)),
    linkState: (state) =>
      enqueue(() => {
        if (state === 'open') {
          lease.linkOpened();
          reportSender.linkOpened();
        }
        if (state === 'closed' && episode === undefined) goOnItsOwn('lost the connection to the coordinator');
      }),
    ownReadings: (readings) =>
      enqueue(() => {
        const before = own;
        own = readings;
        if (episode === undefined) return;
        for (const { id, seen } of changedReadings(before, readings))
          step('saw', `${id} ${seen} (own reading)`);
        evaluate();
      }),
    offlineAck: (id) =>
      enqueue(() => {
        const before = reports.length;
        reports = reports.filter((report) => report.id !== id);
        if (reports.length !== before) {
          logger.info(`the coordinator recorded what this host did on its own (${id})`);
          persist();
        }
      }),
    claims: () => briefing?.claims,
    onItsOwn: () => episode !== undefined,
    idle: async () => {
      await chain;
      await shutdowns;
      await writes;
    },
    async stop() {
      stopped = true;
      lease.disarm();
      timers.due?.cancel();
      await chain;
      await writes;
    },
  };
}
