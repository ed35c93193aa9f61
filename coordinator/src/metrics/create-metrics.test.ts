import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type EngineState, initialEngineState } from '../core/engine-state.js';
import { type ChannelHealth, createMetrics, type MetricsDeps } from './create-metrics.js';
import { addProcessMetrics } from './process-metrics.js';
import { type Exposition, parseExposition, samplesOf, sampleValue } from './test-exposition.js';
import { STANDARD_STATUS_FLAGS, type UpsStateReading } from './ups-series.js';

const OBSERVED = new Date(Date.UTC(2025, 0, 15, 12, 0, 0));

const nasUps: UpsStateReading = {
  ups: 'nas-ups',
  power: 'battery',
  status: ['OB', 'DISCHRG', 'ECO'],
  vars: {
    'battery.charge': '87',
    'battery.runtime': '1320',
    'battery.voltage.nominal': '12.0',
    'ups.load': ' 23.5 ',
    'ups.status': 'OB DISCHRG',
    'device.mfr': 'APC',
    'ups.serial': '3B1234X',
    'ups.firmware': '0x10',
    'input.voltage': '',
    'ups.beeper.status': 'enabled',
  },
  observedAt: OBSERVED,
  dead: false,
};

const policy = {
  ups: new Map([
    ['nas-ups', {}],
    ['rack-ups', {}],
  ]),
  stages: [{ name: 'apps' }, { name: 'storage' }],
};

const runningOutage: EngineState = {
  ...initialEngineState,
  nextRunNumber: 4,
  run: {
    number: 3,
    kind: 'outage',
    phase: 'active',
    startedAt: OBSERVED.getTime(),
    stages: { apps: { status: 'fired', firedAt: OBSERVED.getTime() } },
    hosts: {
      web1: { stage: 'apps', orderedAt: 0, status: 'started', graceUntil: 1 },
      web2: { stage: 'apps', orderedAt: 0, status: 'down', graceUntil: 1, downAt: 1, downHow: 'confirmed' },
    },
    manual: [],
    restore: undefined,
    powerOff: [],
  },
};

function fakeDeps(overrides: Partial<MetricsDeps> = {}): MetricsDeps {
  return {
    readUpsStates: async () => [nasUps],
    connectedAgents: () => 0,
    engineState: () => initialEngineState,
    readChannelHealth: async () => [],
    policy: () => policy,
    ...overrides,
  };
}

async function scrape(metrics: ReturnType<typeof createMetrics>): Promise<Exposition> {
  return parseExposition(await metrics.registry.metrics());
}

describe('createMetrics: UPS series', () => {
  it('exports every numeric variable of a known UPS as its own gauge, and skips the rest', async () => {
    const stray: UpsStateReading = { ...nasUps, ups: 'stray-ups', vars: { 'battery.temperature': '31' } };
    const metrics = createMetrics(fakeDeps({ readUpsStates: async () => [nasUps, stray] }));
    const exposition = await scrape(metrics);

    const variableFamilies = [...exposition.types.keys()].filter(
      (name) => name.startsWith('upsfleet_ups_') && exposition.help.get(name)?.startsWith('NUT variable'),
    );
    expect(variableFamilies.sort()).toEqual([
      'upsfleet_ups_battery_charge',
      'upsfleet_ups_battery_runtime',
      'upsfleet_ups_battery_voltage_nominal',
      'upsfleet_ups_ups_load',
    ]);
    expect(exposition.types.get('upsfleet_ups_battery_charge')).toBe('gauge');
    expect(samplesOf(exposition, 'upsfleet_ups_battery_charge')).toEqual([
      { name: 'upsfleet_ups_battery_charge', labels: { ups: 'nas-ups' }, value: 87 },
    ]);
    expect(sampleValue(exposition, 'upsfleet_ups_battery_runtime', { ups: 'nas-ups' })).toBe(1320);
    expect(sampleValue(exposition, 'upsfleet_ups_battery_voltage_nominal', { ups: 'nas-ups' })).toBe(12);
    expect(sampleValue(exposition, 'upsfleet_ups_ups_load', { ups: 'nas-ups' })).toBe(23.5);
    // A UPS the policy does not name leaves no trace at all.
    expect(exposition.types.has('upsfleet_ups_battery_temperature')).toBe(false);
    expect(exposition.samples.filter((sample) => sample.labels.ups === 'stray-ups')).toEqual([]);
  });

  it('has a 0/1 series for every standard status flag, plus any other word the UPS reports', async () => {
    const exposition = await scrape(createMetrics(fakeDeps()));
    const flags = Object.fromEntries(
      samplesOf(exposition, 'upsfleet_ups_status').map((sample) => [sample.labels.flag, sample.value]),
    );
    expect(Object.keys(flags).sort()).toEqual([...STANDARD_STATUS_FLAGS, 'ECO'].sort());
    expect(flags).toMatchObject({ OB: 1, DISCHRG: 1, ECO: 1, OL: 0, LB: 0, FSD: 0, CHRG: 0 });
    expect(Object.values(flags).filter((value) => value === 1)).toHaveLength(3);
  });

  it('reports power, the dead verdict and the time of the last reading; a silent known UPS is unknown', async () => {
    const unknownStatus: UpsStateReading = {
      ...nasUps,
      status: null,
      power: 'unknown',
      dead: true,
      vars: {},
    };
    const exposition = await scrape(createMetrics(fakeDeps({ readUpsStates: async () => [unknownStatus] })));
    expect(sampleValue(exposition, 'upsfleet_ups_power', { ups: 'nas-ups', state: 'unknown' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_ups_power', { ups: 'nas-ups', state: 'battery' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_ups_dead', { ups: 'nas-ups' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_ups_last_update_seconds', { ups: 'nas-ups' })).toBe(
      OBSERVED.getTime() / 1000,
    );
    expect(
      samplesOf(exposition, 'upsfleet_ups_status').filter((sample) => sample.labels.ups === 'nas-ups'),
    ).toHaveLength(STANDARD_STATUS_FLAGS.length);
    expect(samplesOf(exposition, 'upsfleet_ups_status').every((sample) => sample.value === 0)).toBe(true);
    // rack-ups is in the policy but never reported: its power is unknown, nothing else is claimed.
    expect(sampleValue(exposition, 'upsfleet_ups_power', { ups: 'rack-ups', state: 'unknown' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_ups_power', { ups: 'rack-ups', state: 'online' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_ups_dead', { ups: 'rack-ups' })).toBeUndefined();
  });

  it('follows the readings from scrape to scrape: a variable that goes away takes its family with it', async () => {
    let readings: UpsStateReading[] = [nasUps];
    let reads = 0;
    const metrics = createMetrics(
      fakeDeps({
        readUpsStates: async () => {
          reads += 1;
          return readings;
        },
      }),
    );
    expect((await scrape(metrics)).types.has('upsfleet_ups_battery_runtime')).toBe(true);
    expect(reads).toBe(1);

    readings = [{ ...nasUps, power: 'online', status: ['OL', 'CHRG'], vars: { 'battery.charge': '90' } }];
    const later = await scrape(metrics);
    expect(reads).toBe(2);
    expect(later.types.has('upsfleet_ups_battery_runtime')).toBe(false);
    expect(sampleValue(later, 'upsfleet_ups_battery_charge', { ups: 'nas-ups' })).toBe(90);
    expect(sampleValue(later, 'upsfleet_ups_status', { ups: 'nas-ups', flag: 'OL' })).toBe(1);
    expect(sampleValue(later, 'upsfleet_ups_status', { ups: 'nas-ups', flag: 'OB' })).toBe(0);
    expect(sampleValue(later, 'upsfleet_ups_status', { ups: 'nas-ups', flag: 'ECO' })).toBeUndefined();
    expect(sampleValue(later, 'upsfleet_ups_power', { ups: 'nas-ups', state: 'online' })).toBe(1);
  });

  it('still answers when a source fails, without its series, and says which one', async () => {
    const metrics = createMetrics(
      fakeDeps({
        readChannelHealth: async () => [
          { name: 'wecom', failing: false, consecutiveFailures: 0, pending: 0 },
        ],
        readUpsStates: () => Promise.reject(new Error('database unreachable')),
      }),
    );
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'upsfleet_metrics_source_up', { source: 'ups_states' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_metrics_source_up', { source: 'channels' })).toBe(1);
    expect(samplesOf(exposition, 'upsfleet_ups_power')).toEqual([]);
    expect(sampleValue(exposition, 'upsfleet_notification_pending', { channel: 'wecom' })).toBe(0);
  });
});

describe('createMetrics: fleet state', () => {
  it('shows connected agents, and no run as zeros over every stage of the policy', async () => {
    const exposition = await scrape(createMetrics(fakeDeps({ connectedAgents: () => 7 })));
    expect(sampleValue(exposition, 'upsfleet_agents_connected')).toBe(7);
    expect(sampleValue(exposition, 'upsfleet_run_number')).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_run_active', { kind: 'outage' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_run_active', { kind: 'drill' })).toBe(0);
    const stages = samplesOf(exposition, 'upsfleet_stage_state');
    expect(stages).toHaveLength(2 * 5);
    expect(stages.every((sample) => sample.value === 0)).toBe(true);
  });

  it("shows the run in progress: its kind, number, each stage's state and where its hosts stand", async () => {
    const exposition = await scrape(createMetrics(fakeDeps({ engineState: () => runningOutage })));
    expect(sampleValue(exposition, 'upsfleet_run_active', { kind: 'outage' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_run_active', { kind: 'drill' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_run_number')).toBe(3);
    const on = samplesOf(exposition, 'upsfleet_stage_state')
      .filter((sample) => sample.value === 1)
      .map((sample) => sample.labels);
    // storage has not been touched by the run: pending, as the engine reads it.
    expect(on).toEqual([
      { stage: 'apps', state: 'fired' },
      { stage: 'storage', state: 'pending' },
    ]);
    expect(sampleValue(exposition, 'upsfleet_run_hosts', { status: 'started' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_run_hosts', { status: 'down' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_run_hosts', { status: 'ordered' })).toBe(0);
  });

  it('reports each notification channel, failing or not, and drops a channel that is gone', async () => {
    let channels: ChannelHealth[] = [
      { name: 'wecom', failing: true, consecutiveFailures: 4, pending: 2 },
      { name: 'ntfy', failing: false, consecutiveFailures: 0, pending: 0 },
    ];
    const metrics = createMetrics(fakeDeps({ readChannelHealth: async () => channels }));
    const first = await scrape(metrics);
    expect(sampleValue(first, 'upsfleet_notification_channel_failing', { channel: 'wecom' })).toBe(1);
    expect(sampleValue(first, 'upsfleet_notification_consecutive_failures', { channel: 'wecom' })).toBe(4);
    expect(sampleValue(first, 'upsfleet_notification_pending', { channel: 'wecom' })).toBe(2);
    expect(sampleValue(first, 'upsfleet_notification_channel_failing', { channel: 'ntfy' })).toBe(0);

    channels = channels.slice(1);
    const second = await scrape(metrics);
    expect(
      sampleValue(second, 'upsfleet_notification_channel_failing', { channel: 'wecom' }),
    ).toBeUndefined();
    expect(sampleValue(second, 'upsfleet_notification_channel_failing', { channel: 'ntfy' })).toBe(0);
  });
});

describe('createMetrics: hooks', () => {
  it('counts events, orders, notifications and refused credentials', async () => {
    const metrics = createMetrics(fakeDeps());
    const before = await scrape(metrics);
    // Closed label sets exist at 0 before anything happened.
    expect(sampleValue(before, 'upsfleet_events_received_total', { outcome: 'refused' })).toBe(0);
    expect(sampleValue(before, 'upsfleet_auth_failures_total', { kind: 'agent' })).toBe(0);

    const { hooks } = metrics;
    hooks.eventReceived('stored');
    hooks.eventReceived('stored');
    hooks.eventReceived('duplicate');
    hooks.orderIssued('shutdown');
    hooks.orderIssued('wake');
    hooks.orderIssued('shutdown');
    hooks.notification('wecom', 'retry');
    hooks.notification('wecom', 'sent');
    hooks.authFailure('admin');
    const exposition = await scrape(metrics);
    expect(exposition.types.get('upsfleet_events_received_total')).toBe('counter');
    expect(sampleValue(exposition, 'upsfleet_events_received_total', { outcome: 'stored' })).toBe(2);
    expect(sampleValue(exposition, 'upsfleet_events_received_total', { outcome: 'duplicate' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_events_received_total', { outcome: 'refused' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_orders_issued_total', { kind: 'shutdown' })).toBe(2);
    expect(sampleValue(exposition, 'upsfleet_orders_issued_total', { kind: 'wake' })).toBe(1);
    expect(
      sampleValue(exposition, 'upsfleet_notifications_total', { channel: 'wecom', outcome: 'retry' }),
    ).toBe(1);
    expect(
      sampleValue(exposition, 'upsfleet_notifications_total', { channel: 'wecom', outcome: 'sent' }),
    ).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_auth_failures_total', { kind: 'admin' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_auth_failures_total', { kind: 'agent' })).toBe(0);
  });

  it('puts order latencies into buckets from 1 ms to 60 s, per kind and report', async () => {
    const metrics = createMetrics(fakeDeps());
    metrics.hooks.orderReported('shutdown', 'ack', 'accepted', 0.004);
    metrics.hooks.orderReported('shutdown', 'ack', 'accepted', 0.2);
    metrics.hooks.orderReported('shutdown', 'result', 'succeeded', 45);
    metrics.hooks.orderReported('shutdown', 'result', 'failed', 90);
    const exposition = await scrape(metrics);
    expect(exposition.types.get('upsfleet_order_latency_seconds')).toBe('histogram');

    /** [le, cumulative count] in the order written (an object would reorder integer-like keys). */
    const buckets = (report: string) =>
      samplesOf(exposition, 'upsfleet_order_latency_seconds_bucket')
        .filter((sample) => sample.labels.kind === 'shutdown' && sample.labels.report === report)
        .map((sample) => [sample.labels.le, sample.value]);
    const le = [
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
    ];
    // 4 ms and 200 ms: one from the 5 ms bucket on, both from 250 ms on.
    expect(buckets('ack')).toEqual(
      [...le, '30', '60', '+Inf'].map((bound, i) => [bound, i < 2 ? 0 : i < 7 ? 1 : 2]),
    );
    // 45 s, and 90 s past the last bucket: only +Inf counts that one.
    expect(buckets('result')).toEqual([...le.map((bound) => [bound, 0]), ['30', 0], ['60', 1], ['+Inf', 2]]);
    expect(
      sampleValue(exposition, 'upsfleet_order_latency_seconds_count', { kind: 'shutdown', report: 'ack' }),
    ).toBe(2);
    expect(
      sampleValue(exposition, 'upsfleet_order_latency_seconds_sum', { kind: 'shutdown', report: 'ack' }),
    ).toBeCloseTo(0.204, 9);
    expect(
      sampleValue(exposition, 'upsfleet_order_reports_total', {
        kind: 'shutdown',
        report: 'result',
        outcome: 'failed',
      }),
    ).toBe(1);
  });
});

describe('createMetrics: registry', () => {
  it("includes the process metrics under the upsfleet_ prefix, on its own registry, not prom-client's global one", async () => {
    const first = createMetrics(fakeDeps());
    addProcessMetrics(first.registry);
    const second = createMetrics(fakeDeps());
    first.hooks.authFailure('agent');
    const exposition = await scrape(first);
    expect(exposition.types.get('upsfleet_process_cpu_user_seconds_total')).toBe('counter');
    expect(sampleValue(exposition, 'upsfleet_process_resident_memory_bytes')).toBeGreaterThan(0);
    const secondExposition = await scrape(second);
    expect(sampleValue(secondExposition, 'upsfleet_auth_failures_total', { kind: 'agent' })).toBe(0);
    // Without the Node part (as at the edge): the same series, no process metrics.
    expect(secondExposition.types.has('upsfleet_process_cpu_user_seconds_total')).toBe(false);
    expect(await globalRegistry.metrics()).not.toContain('upsfleet_');
    expect(first.registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
