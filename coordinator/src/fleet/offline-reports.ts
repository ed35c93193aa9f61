/**
 * A host's report of what it did on its own (no valid lease), or a NUT bridge's report of what it did
 * on its own for a legacy host it serves, written into the run's timeline as offline decisions: the run in progress, else the latest one. A host that shut down on its own
 * counts as down in the active run, so no stage orders it again. Recorded once per report id.
 * Must run inside the serial queue.
 */
import type { AgentMessage } from '../../../shared/src/protocol.js';
import { addRunEvents, findRunByNumber, listRunEvents, listRuns } from '../db/queries/runs.js';
import type { FleetContext } from './context.js';
import { decideInput } from './decide-input.js';

export type OfflineReport = Extract<AgentMessage, { type: 'offline-report' }>;

export async function recordOfflineReport(
  fleet: FleetContext,
  agent: string,
  report: OfflineReport,
): Promise<void> {
  const { clock, logger } = fleet.deps;
  // A NUT bridge reports for the legacy hosts the policy gives it (`nut: { bridge: AGENT }`), only.
  const host = report.host ?? agent;
  if (host !== agent && fleet.policy?.hosts.get(host)?.nut?.bridge !== agent) {
    logger.warn(`offline report for ${host} from ${agent}, which is not its NUT bridge: ignored`, {
      report: report.id,
    });
    return;
  }
  // The batch's transaction (group-commit.ts): a query on the pool beside it would wait for it.
  const db = fleet.db;
  const active = fleet.state.run;
  const run =
    active === undefined
      ? (await listRuns(db, { limit: 1, kind: 'outage' }))[0]
      : await findRunByNumber(db, active.number);
  if (run === undefined) {
    logger.warn('offline report with no run to attach it to: logged only', { host, report: report.id });
    return;
  }
  const marker =
    host === agent
      ? `${host} reported its offline decisions (${report.id}; times on its clock)`
      : `${host}'s NUT bridge ${agent} reported what it did on its own for it (${report.id}; times on the bridge's clock)`;
  if (
    (await listRunEvents(db, run.id)).some(
      (event) => event.kind === 'offline-report' && event.detail === marker,
    )
  ) {
    logger.info('offline report already recorded', { host, report: report.id });
    return;
  }
  await addRunEvents(db, [
    { runId: run.id, at: new Date(clock.now()), kind: 'offline-report', host, detail: marker },
    ...report.steps.map((step) => ({
      runId: run.id,
      at: new Date(step.at),
      kind: `offline-${step.what}`,
      host,
      detail: `offline decision: ${step.detail}`,
    })),
  ]);
  logger.warn(
    `${host} reports what it did on its own${host === agent ? '' : ` (through its NUT bridge ${agent})`}`,
    {
      report: report.id,
      steps: report.steps.length,
      shutdown:
        report.shutdown === undefined ? 'no' : `${report.shutdown.rule} ${report.shutdown.stage ?? ''}`,
    },
  );
  const policy = fleet.policy;
  if (
    report.shutdown === undefined ||
    active === undefined ||
    active.kind !== 'outage' ||
    policy === undefined
  )
    return;
  const stage =
    report.shutdown.stage ?? policy.stages.find((each) => each.hosts.includes(host))?.name ?? 'offline';
  await decideInput(fleet, { kind: 'host-down-offline', host, stage });
}
