/**
 * Fault: power flapping. Real upsd + dummy-ups, a real watcher, the coordinator and two host agents.
 * upsd's status flips OB ↔ OL every second or two, each flip waited for until the coordinator has
 * it, many times over. The only stage needs 8 s on battery without a break: together the battery
 * spells add up to more than that, but none lasts that long, so nothing may shut down. The hosts'
 * shutdown would record itself; the record stays empty, no order is issued, and every run the flaps
 * opened ends restored with no stage fired.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type FleetHarness,
  hostSection,
  sharedPostgresMissingReason,
  startFleet,
} from '../helpers/fleet-harness.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { describeRequiring } from '../helpers/requirements.js';
import { countFromEnv } from '../helpers/seeded-random.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';

const ADMIN_TOKEN = 'fault-flap-admin-token-0123456789abcd';
const HOSTS = ['web1', 'web2'] as const;
/** OB/OL changes; an even number, so the last one is OL. */
const FLIPS = 2 * Math.ceil(countFromEnv('UPSFLEET_FAULT_FLIPS', 24) / 2);

describeRequiring(
  'fault: power flapping',
  upsdMissingReason() ?? (await sharedPostgresMissingReason()),
  () => {
    let dir: string;
    let upsd: UpsdHarness;
    let fleet: FleetHarness;
    const agents: WatchedProcess[] = [];
    const record = () => join(dir, 'shutdowns.log');

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-fault-flap-'));
      [upsd, fleet] = await Promise.all([
        startUpsd(),
        startFleet({ dir, adminToken: ADMIN_TOKEN, database: 'postgres' }),
      ]);
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: HOSTS.map((name) => ({ name, ups: ['nas-ups'] })),
        stages: [{ name: 'steady', hosts: [...HOSTS], trigger: { onBattery: '8s' } }],
        restore: { stableFor: '3s' },
      });
      const nas = await fleet.enroll('nas');
      await fleet.writeAgentConfig(nas, [
        'ups:',
        '  - id: nas-ups',
        `    upsd: ${upsd.host}:${upsd.port}`,
        `    name: ${upsd.ups}`,
        '    pollInterval: 250ms',
      ]);
      for (const name of HOSTS) {
        const enrolled = await fleet.enroll(name);
        await fleet.writeAgentConfig(
          enrolled,
          hostSection(recordingShutdown(record(), name, { killAgent: true })),
        );
      }
      agents.push(...(await Promise.all(['nas', ...HOSTS].map((name) => fleet.startAgent(name)))));
      await fleet.coordinator.waitForLine(/UPS event ups=nas-ups status=OL/, 'the first reading');
    });

    afterAll(async () => {
      await fleet?.close();
      await upsd?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it(
      `shuts nothing down through ${FLIPS} flips that never stay on battery for the stage's 8 s`,
      async () => {
        const coordinator = fleet.coordinator;
        const started = Date.now();
        let onBatteryMs = 0;
        let lastOb = 0;
        for (let flip = 0; flip < FLIPS; flip += 1) {
          const ob = flip % 2 === 0;
          const from = coordinator.mark();
          await upsd.setStatus(ob ? 'OB DISCHRG' : 'OL');
          await coordinator.waitForLine(
            ob ? /UPS event ups=nas-ups status="OB DISCHRG"/ : /UPS event ups=nas-ups status=OL/,
            `flip ${flip + 1}`,
            from,
          );
          if (ob) lastOb = Date.now();
          else onBatteryMs += Date.now() - lastOb;
        }
        console.info(
          `power flapping: ${FLIPS} flips in ${Math.round((Date.now() - started) / 1000)} s, ` +
            `${Math.round(onBatteryMs / 1000)} s on battery in all`,
        );
        await coordinator.waitForLine(/run \d+ ended: restored/, 'the last run ended', coordinator.mark());

        // Nothing ran, nothing was ordered, and every run ended restored with no stage fired.
        expect(await recordedHosts(record())).toEqual([]);
        for (const agent of agents) expect(agent.child.exitCode).toBeNull();
        const orders = await fleet.api<{ items: unknown[] }>('GET', '/api/v1/orders');
        expect(orders.items).toEqual([]);
        const runs = await fleet.runs();
        expect(runs.length).toBeGreaterThan(0);
        for (const summary of runs) {
          expect(summary).toMatchObject({ state: 'ended', endReason: 'restored', firedStages: [] });
          const run = await fleet.run(summary.id);
          expect(run.timeline.filter((entry) => /stage-fired|order|host-down/.test(entry.kind))).toEqual([]);
        }
        // The coordinator saw every battery spell (the flapping was not smoothed away before it).
        const events = await fleet.api<{ items: { status: string[] | null }[] }>(
          'GET',
          '/api/v1/events?ups=nas-ups&limit=500',
        );
        const spells = events.items.filter((event) => event.status?.includes('OB')).length;
        expect(spells).toBeGreaterThanOrEqual(FLIPS / 2);
      },
      60_000 + FLIPS * 8_000,
    );
  },
);
