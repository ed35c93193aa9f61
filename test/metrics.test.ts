/**
 * `GET /metrics` over the real parts: UPS states stored through recordUpsEvent and read back by the
 * metrics reader, a real fleet (policy, engine, a manually fired stage) and a real hub, on each
 * database. The route is mounted the way the coordinator mounts it, on a Hono app in memory.
 */
import { randomBytes } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../coordinator/src/db/client.js';
import { insertAgent } from '../coordinator/src/db/queries/agents.js';
import { recordUpsEvent } from '../coordinator/src/db/queries/ups-events.js';
import { createFleet, type Fleet } from '../coordinator/src/fleet/fleet.js';
import { metricsRoutes } from '../coordinator/src/http/routes/metrics.js';
import { createMetrics, type Metrics } from '../coordinator/src/metrics/create-metrics.js';
import { parseExposition, sampleValue } from '../coordinator/src/metrics/test-exposition.js';
import { createUpsStateReader } from '../coordinator/src/metrics/ups-state-reader.js';
import { createHub } from '../coordinator/src/ws/hub.js';
import { createManualClock } from '../shared/src/clock.js';
import { silentLogger } from '../shared/src/logger.js';
import { generateSigningKey } from '../shared/src/signing.js';
import { describeOnEachDatabase } from './helpers/database.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const READ_TOKEN = 'metrics-read-token';

const policyDocument = {
  ups: [{ name: 'nas-ups', watcher: 'nas' }],
  hosts: [
    { name: 'web1', ups: ['nas-ups'] },
    { name: 'db1', ups: ['nas-ups'] },
  ],
  stages: [
    { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' } },
    { name: 'databases', hosts: ['db1'], trigger: { onBattery: '2m' } },
  ],
};

/** Stands in for the coordinator's read-scope check: the route only has to run it first. */
const requireReadToken: MiddlewareHandler = async (c, next) => {
  if (c.req.header('authorization') !== `Bearer ${READ_TOKEN}`) throw new HTTPException(401);
  await next();
};

const publicKey = () => ({
  kty: 'OKP' as const,
  crv: 'Ed25519' as const,
  x: randomBytes(32).toString('base64url'),
});

describeOnEachDatabase('GET /metrics', (factory) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let fleet: Fleet;
  let metrics: Metrics;

  beforeAll(async () => {
    const opened = await factory.open();
    db = opened.database.db;
    cleanup = opened.cleanup;
    const clock = createManualClock(T0);
    const hub = createHub();
    const { keyPair } = await generateSigningKey();
    fleet = await createFleet({
      db,
      hub,
      clock,
      logger: silentLogger,
      signingKey: keyPair,
      orderTtlMs: 600_000,
    });
    await fleet.applyPolicy(policyDocument, 'test');
    const nas = await insertAgent(db, {
      name: 'nas',
      publicKey: publicKey(),
      kid: 'k-nas',
      enrolledAt: new Date(T0),
    });
    const web1 = await insertAgent(db, {
      name: 'web1',
      publicKey: publicKey(),
      kid: 'k-web1',
      enrolledAt: new Date(T0),
    });
    hub.add({ agentId: web1.id, send: () => {}, close: () => {} });

    const event = {
      agentId: nas.id,
      dropped: 0,
      events: ['ONBATT'],
      dead: false,
      observedAt: new Date(T0),
      receivedAt: new Date(T0),
    };
    const onBattery = await recordUpsEvent(db, {
      ...event,
      ups: 'nas-ups',
      seq: 1,
      status: ['OB', 'DISCHRG'],
      power: 'battery',
      vars: {
        'battery.charge': '64',
        'battery.runtime': '840',
        'ups.status': 'OB DISCHRG',
        'device.mfr': 'EATON',
      },
    });
    // The same agent reporting a UPS the policy does not name: stored, but not in the metrics.
    const stray = await recordUpsEvent(db, {
      ...event,
      ups: 'not-in-policy',
      seq: 2,
      status: ['OL'],
      power: 'online',
      vars: { 'battery.charge': '100' },
    });
    expect([onBattery, stray]).toEqual([{ stored: true }, { stored: true }]);
    await fleet.fireStage('apps');

    metrics = createMetrics({
      readUpsStates: createUpsStateReader(db),
      connectedAgents: () => hub.size,
      engineState: () => fleet.state,
      readChannelHealth: async () => [],
      policy: () => fleet.policy,
    });
  });
  afterAll(async () => {
    await fleet.stop();
    await cleanup();
  });

  async function scrape(app: Hono, headers: Record<string, string> = {}) {
    const response = await app.request('/metrics', { headers });
    return { response, text: await response.text() };
  }

  it('answers in the Prometheus text format with the fleet as it is stored', async () => {
    const app = new Hono().route('/', metricsRoutes({ metrics, auth: undefined }));
    const { response, text } = await scrape(app);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const exposition = parseExposition(text);

    expect(sampleValue(exposition, 'upsfleet_ups_battery_charge', { ups: 'nas-ups' })).toBe(64);
    expect(sampleValue(exposition, 'upsfleet_ups_battery_runtime', { ups: 'nas-ups' })).toBe(840);
    expect(exposition.types.has('upsfleet_ups_device_mfr')).toBe(false);
    expect(sampleValue(exposition, 'upsfleet_ups_status', { ups: 'nas-ups', flag: 'OB' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_ups_status', { ups: 'nas-ups', flag: 'OL' })).toBe(0);
    expect(sampleValue(exposition, 'upsfleet_ups_power', { ups: 'nas-ups', state: 'battery' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_ups_last_update_seconds', { ups: 'nas-ups' })).toBe(T0 / 1000);
    expect(text).not.toContain('not-in-policy');

    expect(sampleValue(exposition, 'upsfleet_agents_connected')).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_run_active', { kind: 'outage' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_run_number')).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_stage_state', { stage: 'apps', state: 'fired' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_stage_state', { stage: 'databases', state: 'pending' })).toBe(1);
    expect(sampleValue(exposition, 'upsfleet_metrics_source_up', { source: 'ups_states' })).toBe(1);
  });

  describe('behind a read-scope check', () => {
    it('refuses a scrape without the token and answers one with it', async () => {
      const app = new Hono().route('/', metricsRoutes({ metrics, auth: requireReadToken }));
      const refused = await scrape(app);
      expect(refused.response.status).toBe(401);
      expect(refused.text).not.toContain('upsfleet_');

      const allowed = await scrape(app, { authorization: `Bearer ${READ_TOKEN}` });
      expect(allowed.response.status).toBe(200);
      expect(
        sampleValue(parseExposition(allowed.text), 'upsfleet_ups_battery_charge', { ups: 'nas-ups' }),
      ).toBe(64);
    });
  });
});
