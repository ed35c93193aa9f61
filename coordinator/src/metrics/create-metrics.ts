/**
 * The coordinator's Prometheus metrics on a private registry (never prom-client's global one, so
 * that two coordinators in one process, as in tests, never share series).
 *
 * Counters are fed through `hooks` as things happen; everything that is state (UPSes, agents, the
 * run, notification channels) is read from the coordinator at scrape time through the plain read
 * functions in `deps`, so a scrape always shows the present and this module needs no wiring into
 * the engine.
 *
 * Label cardinality is bounded by design: UPS series only for UPSes the policy names (an enrolled
 * agent may report events about any name), at most MAX_VARIABLES_PER_UPS variables each; stage names
 * from the policy and the active run; channel names from the configured channels; every other label
 * from a closed set.
 *
 * Runs on Node and at the edge alike; the Node coordinator adds the process metrics
 * (process-metrics.ts).
 */
import type { Logger } from '../../../shared/src/logger.js';
import type { EngineState } from '../core/engine-state.js';
import { createMetricsHooks, type MetricsHooks } from './hooks.js';
import { Gauge } from './prom.js';
import { toRunSeries } from './run-series.js';
import { ScrapeRegistry } from './scrape-registry.js';
import { toUpsSeries, type UpsSeries, type UpsStateReading } from './ups-series.js';

export interface ChannelHealth {
  readonly name: string;
  readonly failing: boolean;
  readonly consecutiveFailures: number;
  /** Messages waiting in the outbox for this channel. */
  readonly pending: number;
}

/** The parts of the policy that bound label values (`fleet.policy` fits). */
export interface PolicyNames {
  readonly ups: ReadonlyMap<string, unknown>;
  readonly stages: readonly { readonly name: string }[];
}

export interface MetricsDeps {
  readUpsStates(): Promise<readonly UpsStateReading[]>;
  connectedAgents(): number;
  engineState(): EngineState;
  readChannelHealth(): Promise<readonly ChannelHealth[]>;
  /** The applied policy, or undefined before one is: then no UPS and no stage is known. */
  policy(): PolicyNames | undefined;
  /** Where a failed read is reported (the scrape itself still answers, without that part). */
  readonly logger?: Logger;
}

export interface Metrics {
  readonly registry: ScrapeRegistry;
  readonly hooks: MetricsHooks;
}

type Source = 'ups_states' | 'channels';

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new ScrapeRegistry(() => refresh());
  const registers = [registry];
  const hooks = createMetricsHooks(registry);

  const sourceUp = new Gauge({
    name: 'upsfleet_metrics_source_up',
    help: 'Whether the last scrape could read this source (0: its series are left out).',
    labelNames: ['source'],
    registers,
  });

  // UPSes: set in refresh(), from one read per scrape.
  const upsStatus = new Gauge({
    name: 'upsfleet_ups_status',
    help: 'ups.status flags: 1 when the UPS reports the flag (the standard set is always present).',
    labelNames: ['ups', 'flag'],
    registers,
  });
  const upsPower = new Gauge({
    name: 'upsfleet_ups_power',
    help: "Where the UPS's load gets power, as upsfleet reads ups.status (unknown is never battery).",
    labelNames: ['ups', 'state'],
    registers,
  });
  const upsDead = new Gauge({
    name: 'upsfleet_ups_dead',
    help: 'upsmon dead-UPS rule: last seen on battery, then silent past the dead time.',
    labelNames: ['ups'],
    registers,
  });
  const upsLastUpdate = new Gauge({
    name: 'upsfleet_ups_last_update_seconds',
    help: "When the UPS's watcher observed the last reading, in Unix seconds.",
    labelNames: ['ups'],
    registers,
  });
  const variableGauges = new Map<string, Gauge<'ups'>>();

  // Notification channels: set in refresh(), from one read per scrape.
  const channelFailing = new Gauge({
    name: 'upsfleet_notification_channel_failing',
    help: 'Whether deliveries to this channel keep failing.',
    labelNames: ['channel'],
    registers,
  });
  const channelFailures = new Gauge({
    name: 'upsfleet_notification_consecutive_failures',
    help: 'Failed deliveries to this channel since its last success.',
    labelNames: ['channel'],
    registers,
  });
  const channelPending = new Gauge({
    name: 'upsfleet_notification_pending',
    help: 'Messages waiting in the outbox for this channel.',
    labelNames: ['channel'],
    registers,
  });

  // In-memory state: plain collect() callbacks.
  new Gauge({
    name: 'upsfleet_agents_connected',
    help: 'Agents with an open WebSocket to this coordinator.',
    registers,
    collect() {
      this.set(deps.connectedAgents());
    },
  });
  const runSeries = () =>
    toRunSeries(
      deps.engineState(),
      (deps.policy()?.stages ?? []).map((stage) => stage.name),
    );
  new Gauge({
    name: 'upsfleet_run_active',
    help: 'Whether a run of this kind is in progress (restoring included).',
    labelNames: ['kind'],
    registers,
    collect() {
      for (const { kind, value } of runSeries().active) this.set({ kind }, value);
    },
  });
  new Gauge({
    name: 'upsfleet_run_number',
    help: 'The number of the run in progress; 0 when there is none.',
    registers,
    collect() {
      this.set(runSeries().number);
    },
  });
  new Gauge({
    name: 'upsfleet_stage_state',
    help: "Each stage's state in the run in progress (all 0 when there is none).",
    labelNames: ['stage', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { stage, state, value } of runSeries().stages) this.set({ stage, state }, value);
    },
  });
  new Gauge({
    name: 'upsfleet_run_hosts',
    help: 'Hosts of the run in progress, by where their order stands.',
    labelNames: ['status'],
    registers,
    collect() {
      for (const { status, value } of runSeries().hosts) this.set({ status }, value);
    },
  });

  function setUps(series: UpsSeries | undefined): void {
    for (const gauge of [upsStatus, upsPower, upsDead, upsLastUpdate]) gauge.reset();
    for (const { labels, value } of series?.status ?? []) upsStatus.set(labels, value);
    for (const { labels, value } of series?.power ?? []) upsPower.set(labels, value);
    for (const { labels, value } of series?.dead ?? []) upsDead.set(labels, value);
    for (const { labels, value } of series?.lastUpdate ?? []) upsLastUpdate.set(labels, value);
    const families = series?.variables ?? new Map();
    for (const name of variableGauges.keys()) {
      if (families.has(name)) continue;
      registry.removeSingleMetric(name);
      variableGauges.delete(name);
    }
    for (const [name, family] of families) {
      let gauge = variableGauges.get(name);
      if (gauge === undefined) {
        gauge = new Gauge({
          name,
          help: `NUT variable ${family.variable}, as upsd reports it.`,
          labelNames: ['ups'],
          registers,
        });
        variableGauges.set(name, gauge);
      }
      gauge.reset();
      for (const { labels, value } of family.samples) gauge.set(labels, value);
    }
  }

  function setChannels(channels: readonly ChannelHealth[] | undefined): void {
    for (const gauge of [channelFailing, channelFailures, channelPending]) gauge.reset();
    for (const channel of channels ?? []) {
      const labels = { channel: channel.name };
      channelFailing.set(labels, channel.failing ? 1 : 0);
      channelFailures.set(labels, channel.consecutiveFailures);
      channelPending.set(labels, channel.pending);
    }
  }

  function settled<T>(source: Source, result: PromiseSettledResult<T>): T | undefined {
    sourceUp.set({ source }, result.status === 'fulfilled' ? 1 : 0);
    if (result.status === 'fulfilled') return result.value;
    deps.logger?.warn('metrics: a source could not be read; its series are left out of this scrape', {
      source,
      error: String(result.reason),
    });
    return undefined;
  }

  /** Reads each asynchronous source once, then updates every gauge fed from it in one go. */
  async function refresh(): Promise<void> {
    // Through then(): a reader that throws instead of rejecting is still only a failed source.
    const [ups, channels] = await Promise.allSettled([
      Promise.resolve().then(() => deps.readUpsStates()),
      Promise.resolve().then(() => deps.readChannelHealth()),
    ]);
    const readings = settled('ups_states', ups);
    const known = new Set(deps.policy()?.ups.keys() ?? []);
    setUps(readings === undefined ? undefined : toUpsSeries(readings, known));
    setChannels(settled('channels', channels));
  }

  return { registry, hooks };
}
