/**
 * offline.json in the state dir: the episode a host is living on its own (when it began, what the
 * evaluation remembers, what it did), so that a restarted agent resumes its countdown at the
 * original time; and the reports of past episodes until the coordinator acknowledges them.
 */
import { z } from 'zod';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import { readFileIfExists, writeFileAtomic } from '../atomic-file.js';
import { parseJsonFile } from '../state-dir.js';

export type OfflineReport = Extract<AgentMessage, { type: 'offline-report' }>;
export type OfflineStep = OfflineReport['steps'][number];

export const StepSchema = z.object({
  at: z.number(),
  what: z.enum(['lost', 'saw', 'countdown', 'cancelled', 'hook', 'shutdown', 'back']),
  detail: z.string(),
});

export const EpisodeSchema = z.object({
  lostAt: z.number(),
  troubleSince: z.number().optional(),
  triggeredAt: z.record(z.string(), z.number()),
  steps: z.array(StepSchema),
  /** The shutdown ran (or started) in this episode. */
  shutdown: z
    .object({ at: z.number(), rule: z.enum(['offline', 'fallback']), stage: z.string().nullable() })
    .optional(),
});
export type Episode = z.infer<typeof EpisodeSchema>;

const FileSchema = z.object({
  version: z.literal(1),
  episode: EpisodeSchema.optional(),
  reports: z.array(z.unknown()),
});

export interface OfflineFile {
  episode: Episode | undefined;
  reports: OfflineReport[];
}

export const MAX_STEPS = 60;

/** The episode turned into the report the coordinator gets. */
export function toReport(episode: Episode, steps: readonly OfflineStep[]): OfflineReport {
  const kept = steps.length > MAX_STEPS ? [...steps.slice(0, 10), ...steps.slice(-(MAX_STEPS - 10))] : steps;
  return {
    type: 'offline-report',
    id: `offline:${episode.lostAt}`,
    lostAt: Math.round(episode.lostAt),
    steps: kept.map((step) => ({
      at: Math.round(step.at),
      what: step.what,
      detail: step.detail.slice(0, 256),
    })),
    ...(episode.shutdown === undefined
      ? {}
      : { shutdown: { ...episode.shutdown, at: Math.round(episode.shutdown.at) } }),
  };
}

/**
 * Sends the kept reports to the coordinator, each once per connection: a report not acknowledged
 * goes out again on the next one (the coordinator records each id once).
 */
export function createReportSender(send: (message: AgentMessage) => Promise<void>) {
  let sentThisLink = new Set<string>();
  return {
    linkOpened(): void {
      sentThisLink = new Set();
    },
    send(reports: readonly OfflineReport[]): void {
      for (const report of reports) {
        if (sentThisLink.has(report.id)) continue;
        sentThisLink.add(report.id);
        send(report).catch(() => sentThisLink.delete(report.id));
      }
    },
  };
}

/** The reports kept in a state file (not yet acknowledged by the coordinator). */
export function keptReports(reports: readonly unknown[]): OfflineReport[] {
  return reports.filter(
    (report): report is OfflineReport =>
      typeof report === 'object' && report !== null && (report as OfflineReport).type === 'offline-report',
  );
}

export async function loadOfflineFile(path: string, logger: Logger): Promise<OfflineFile> {
  try {
    const text = await readFileIfExists(path);
    if (text === undefined) return { episode: undefined, reports: [] };
    const data = parseJsonFile(FileSchema, text, path);
    return { episode: data.episode, reports: keptReports(data.reports) };
  } catch (error) {
    logger.warn(`ignoring ${path}: ${errorMessage(error)}`);
    return { episode: undefined, reports: [] };
  }
}

export function saveOfflineFile(path: string, file: OfflineFile): Promise<void> {
  const data = {
    version: 1,
    ...(file.episode === undefined ? {} : { episode: file.episode }),
    reports: file.reports,
  };
  return writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, 0o600);
}
