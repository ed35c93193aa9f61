/**
 * What the dashboard shows, read in one go from the database, the fleet and the hub: every UPS
 * with its history, the hosts, the policy and its plan, the current (or last) run, recent events
 * and the notification channels. The views render it; nothing here knows about HTML.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { type PlanResult, simulatePlan } from '../core/plan.js';
import type { Policy, Trigger } from '../core/policy.js';
import { presentReadings } from '../core/present-readings.js';
import type { Db } from '../db/client.js';
import { listAgents } from '../db/queries/agents.js';
import { listOrders, type OrderRow } from '../db/queries/orders.js';
import {
  findRun,
  listActiveRuns,
  listRunEvents,
  listRuns,
  type RunEventRow,
  type RunRow,
} from '../db/queries/runs.js';
import { listUpsEvents, listUpsStates } from '../db/queries/ups-events.js';
import { type HistoryPoint, readHistory, readingOf } from '../db/queries/ups-readings.js';
import type { HostSees } from '../fleet/host-reports.js';
import type { ChannelHealth } from '../http/routes/admin/fleet-ops.js';
import { ago } from './status-words.js';

export type UpsStateRow = Awaited<ReturnType<typeof listUpsStates>>[number];
export type UpsEventRow = Awaited<ReturnType<typeof listUpsEvents>>[number];

/** A chart's columns: bucket start (s since the epoch) and one array per variable, null where unknown. */
export interface Series {
  readonly t: number[];
  readonly charge: (number | null)[];
  readonly runtime: (number | null)[];
  readonly load: (number | null)[];
  readonly voltage: (number | null)[];
}

export const RANGES = {
  hour: { span: 3_600_000, bucket: 60_000 },
  day: { span: 86_400_000, bucket: 600_000 },
  week: { span: 7 * 86_400_000, bucket: 3_600_000 },
} as const;
export type RangeName = keyof typeof RANGES;

export interface UpsView {
  readonly name: string;
  readonly watcher: string | undefined;
  readonly inPolicy: boolean;
  /** Undefined when the UPS never reported. */
  readonly state: UpsStateRow | undefined;
  readonly history: Record<RangeName, Series>;
}

export interface HostView {
  readonly name: string;
  readonly enrolled: boolean;
  readonly connected: boolean;
  readonly lastSeenAt: Date | null;
  readonly stage: string | undefined;
  readonly ups: readonly string[];
  /** The host's offline rule, in words (its own fallback, or the policy's). */
  readonly offlineRule: string | undefined;
  /** What the host reads itself (its own upsd), when the hosts API has it. */
  readonly ownReading: string | undefined;
  readonly lastDrill: { readonly at: Date; readonly ok: boolean; readonly text: string } | undefined;
}

export interface StageView {
  readonly name: string;
  readonly trigger: string;
  readonly hosts: readonly string[];
  readonly after: readonly string[];
  readonly grace: number;
}

export interface PolicyView {
  readonly stages: readonly StageView[];
  /** "on battery now", "apps at +30 s", …: the plan for an outage starting now. */
  readonly plan: readonly { readonly at: number; readonly what: string }[];
  readonly planNote: string | undefined;
}

export interface RunView {
  readonly run: RunRow;
  readonly timeline: readonly RunEventRow[];
  readonly orders: readonly Omit<OrderRow, 'token'>[];
  /** The outage's charge and runtime since it started. */
  readonly curve: Series | undefined;
}

export interface DashboardView {
  readonly now: number;
  readonly principal: { readonly name: string; readonly canWrite: boolean };
  readonly ups: readonly UpsView[];
  readonly hosts: readonly HostView[];
  readonly policy: PolicyView | undefined;
  readonly run: RunView | undefined;
  readonly events: readonly UpsEventRow[];
  readonly channels: readonly ChannelHealth[];
}

export interface ViewDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly policy: () => Policy | undefined;
  readonly isConnected: (agentId: string) => boolean;
  readonly channelHealth: () => Promise<ChannelHealth[]>;
  /** What a host reads from its own upsd (`host.upsd:`), as the hosts API shows it. */
  readonly sees?: (host: string) => HostSees | undefined;
}

/** "nas-ups OB DISCHRG, 3 s ago"; a reading error stays an error, never a status. */
export function ownReadingText(sees: HostSees | undefined, now: number): string | undefined {
  if (sees === undefined) return undefined;
  const parts = sees.readings.map((reading) => {
    // The host's clock may run ahead: never age a reading from before it was received.
    const at = Math.min(sees.receivedAt, reading.at - sees.skewMs);
    const what =
      reading.status === null ? `unknown (${reading.reason ?? 'no reading'})` : reading.status.join(' ');
    return `${reading.ups} ${reading.dead ? 'dead' : what}, ${ago(at, now)}`;
  });
  return [...parts, ...sees.warnings.map((warning) => `warning: ${warning}`)].join('; ') || undefined;
}

export function seriesOf(points: readonly HistoryPoint[]): Series {
  return {
    t: points.map((p) => Math.round(p.t / 1000)),
    charge: points.map((p) => p.charge),
    runtime: points.map((p) => p.runtime),
    load: points.map((p) => p.load),
    voltage: points.map((p) => p.voltage),
  };
}

export function triggerText(trigger: Trigger): string {
  const parts = [
    trigger.onBattery === undefined ? undefined : `on battery ${seconds(trigger.onBattery)}`,
    trigger.chargeBelow === undefined ? undefined : `charge < ${trigger.chargeBelow} %`,
    trigger.runtimeBelow === undefined ? undefined : `runtime < ${seconds(trigger.runtimeBelow)}`,
    trigger.lowBattery === true ? 'low battery' : undefined,
    trigger.fsd === true ? 'FSD' : undefined,
    trigger.dead === true ? 'UPS dead' : undefined,
    trigger.manual === true ? 'by hand' : undefined,
  ].filter((part) => part !== undefined);
  return parts.join(' or ');
}

/** A duration as people read it on a screen: "30 s", "2 min", "1 h 5 min". */
export function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  return `${Math.floor(m / 60)} h${m % 60 === 0 ? '' : ` ${m % 60} min`}`;
}

function planOf(policy: Policy, result: PlanResult): PolicyView['plan'] {
  const steps: { at: number; what: string }[] = [{ at: 0, what: 'on battery now' }];
  for (const stage of result.stages)
    if (stage.firedAt !== undefined) steps.push({ at: stage.firedAt, what: stage.name });
  for (const off of result.powerOff) steps.push({ at: off.at, what: `${off.ups} off` });
  if (policy.stages.length === 0) return steps;
  return steps.sort((a, b) => a.at - b.at);
}

function policyView(policy: Policy, states: readonly UpsStateRow[], enrolled: readonly string[]): PolicyView {
  const stages = policy.stages.map((stage) => ({
    name: stage.name,
    trigger: triggerText(stage.trigger),
    hosts: stage.hosts,
    after: stage.after,
    grace: stage.grace,
  }));
  try {
    const result = simulatePlan(
      policy,
      { kind: 'battery-now', readings: presentReadings(states) },
      { unresponsive: [], enrolled: [...enrolled] },
    );
    return { stages, plan: planOf(policy, result), planNote: result.notes[0] };
  } catch (error) {
    return {
      stages,
      plan: [],
      planNote: `no plan: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function offlineRule(policy: Policy | undefined, host: string): string | undefined {
  if (policy?.hosts.has(host) !== true) return undefined;
  const own = policy.hosts.get(host)?.fallback;
  const rule = own ?? policy.document.fallback;
  if (rule === false) return 'none';
  return `on its own after ${seconds(rule.after)} cut off`;
}

async function lastDrillByHost(db: Db) {
  const [drill] = await listRuns(db, { limit: 1, kind: 'drill' });
  const byHost = new Map<string, HostView['lastDrill']>();
  if (drill === undefined) return byHost;
  for (const order of await listOrders(db, { runId: drill.id })) {
    const ok = order.outcome === 'drill' && order.error === null;
    const text =
      order.outcome === null
        ? order.ackStatus === null
          ? 'no answer'
          : `acknowledged (${order.ackStatus})`
        : (order.error ?? 'every check passed');
    byHost.set(order.host, { at: order.outcomeAt ?? order.createdAt, ok, text });
  }
  return byHost;
}

/** Charge, runtime, load and voltage of one UPS from its raw events (an outage is short: every reading counts). */
function curveOf(events: readonly UpsEventRow[]): Series | undefined {
  const points = [...events]
    .reverse()
    .map((event) => ({ t: event.observedAt.getTime(), ...readingOf(event.vars) }))
    .filter((p) => p.charge !== null || p.runtime !== null);
  if (points.length === 0) return undefined;
  return {
    t: points.map((p) => p.t / 1000),
    charge: points.map((p) => p.charge),
    runtime: points.map((p) => p.runtime),
    load: points.map((p) => p.load),
    voltage: points.map((p) => p.voltage),
  };
}

async function runView(db: Db, run: RunRow, ups: string | undefined, now: number): Promise<RunView> {
  const [timeline, orders] = await Promise.all([
    listRunEvents(db, run.id),
    listOrders(db, { runId: run.id }),
  ]);
  const curve =
    run.kind === 'drill' || ups === undefined
      ? undefined
      : curveOf(
          await listUpsEvents(db, {
            ups,
            since: new Date(run.startedAt.getTime() - 60_000),
            until: new Date((run.endedAt?.getTime() ?? now) + 1),
            limit: 2000,
          }),
        );
  return { run, timeline, orders: orders.map(({ token: _token, ...order }) => order), curve };
}

/** The run to show: the active one, or else the latest. */
async function currentRun(db: Db): Promise<RunRow | undefined> {
  const [active] = await listActiveRuns(db);
  if (active !== undefined) return active;
  const [latest] = await listRuns(db, { limit: 1 });
  return latest === undefined ? undefined : await findRun(db, latest.id);
}

/** Every UPS's history over each range, by UPS. */
async function readRanges(db: Db, now: number): Promise<Record<RangeName, Map<string, HistoryPoint[]>>> {
  const ranges = await Promise.all(
    (Object.keys(RANGES) as RangeName[]).map(async (range) => {
      const { span, bucket } = RANGES[range];
      const byUps = new Map<string, HistoryPoint[]>();
      for (const point of await readHistory(db, { since: new Date(now - span), bucketMs: bucket })) {
        const points = byUps.get(point.ups);
        if (points === undefined) byUps.set(point.ups, [point]);
        else points.push(point);
      }
      return [range, byUps] as const;
    }),
  );
  return Object.fromEntries(ranges) as Record<RangeName, Map<string, HistoryPoint[]>>;
}

export async function loadDashboard(
  deps: ViewDeps,
  principal: DashboardView['principal'],
): Promise<DashboardView> {
  const { db } = deps;
  const now = deps.clock.now();
  const policy = deps.policy();
  // Every read at once, the history's too: it is read for every UPS that has any (not only those
  // named by the states), so it need not wait for the states, and filtered below.
  const [states, agents, run, events, channels, drills, history] = await Promise.all([
    listUpsStates(db),
    listAgents(db),
    currentRun(db),
    listUpsEvents(db, { limit: 15 }),
    deps.channelHealth(),
    lastDrillByHost(db),
    readRanges(db, now),
  ]);
  const upsNames = [...new Set([...(policy?.ups.keys() ?? []), ...states.map((s) => s.ups)])];
  const seriesFor = (name: string, range: RangeName) => seriesOf(history[range].get(name) ?? []);
  const ups = upsNames.map((name) => ({
    name,
    watcher: policy?.ups.get(name)?.watcher,
    inPolicy: policy?.ups.has(name) === true,
    state: states.find((s) => s.ups === name),
    history: { hour: seriesFor(name, 'hour'), day: seriesFor(name, 'day'), week: seriesFor(name, 'week') },
  }));
  const active = agents.filter((a) => a.status === 'active');
  const hostNames = [...new Set([...(policy?.hosts.keys() ?? []), ...active.map((a) => a.name)])];
  const hosts = hostNames.map((name): HostView => {
    const agent = active.find((a) => a.name === name);
    return {
      name,
      enrolled: agent !== undefined,
      connected: agent !== undefined && deps.isConnected(agent.id),
      lastSeenAt: agent?.lastSeenAt ?? null,
      stage: policy?.stages.find((s) => s.hosts.includes(name))?.name,
      ups: policy?.hosts.get(name)?.ups ?? [],
      offlineRule: offlineRule(policy, name),
      ownReading: ownReadingText(deps.sees?.(name), now),
      lastDrill: drills.get(name),
    };
  });
  return {
    now,
    principal,
    ups,
    hosts,
    policy:
      policy === undefined
        ? undefined
        : policyView(
            policy,
            states,
            active.map((a) => a.name),
          ),
    run:
      run === undefined
        ? undefined
        : await runView(
            db,
            run,
            run.ups ?? states.find((s) => s.power === 'battery')?.ups ?? upsNames[0],
            now,
          ),
    events,
    channels,
  };
}
