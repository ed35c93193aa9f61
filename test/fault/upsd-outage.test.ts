/**
 * Fault: upsd restarted, then its driver stopped, in the middle of an outage. Real upsd + dummy-ups,
 * a real watcher agent (dead time 3 s), the coordinator and three host agents.
 *
 * - app1's stage (1 s on battery) runs once.
 * - upsd restarts: the watcher loses it and reads it again. Unknown is never "power back": the run
 *   stays active.
 * - The driver stops: upsd answers DRIVER-NOT-CONNECTED. A UPS last seen on battery and silent past
 *   the dead time counts as critical (upsmon's dead-UPS rule), so db1's stage (low battery or dead
 *   UPS) runs once.
 * - spare1's stage (10 minutes on battery) never runs. Power returns: one run, restored.
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
  timelineOf,
} from '../helpers/fleet-harness.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { describeRequiring } from '../helpers/requirements.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';

const ADMIN_TOKEN = 'fault-upsd-admin-token-0123456789abcd';
const HOSTS = ['app1', 'db1', 'spare1'] as const;

describeRequiring(
  'fault: upsd restarted and its driver stopped during an outage',
  upsdMissingReason() ?? (await sharedPostgresMissingReason()),
  () => {
    let dir: string;
    let upsd: UpsdHarness;
    let fleet: FleetHarness;
    const agents = new Map<string, WatchedProcess>();
    const record = () => join(dir, 'shutdowns.log');

    function agent(name: string): WatchedProcess {
      const found = agents.get(name);
      if (found === undefined) throw new Error(`no agent ${name}`);
      return found;
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-fault-upsd-'));
      [upsd, fleet] = await Promise.all([
        startUpsd(),
        startFleet({ dir, adminToken: ADMIN_TOKEN, database: 'postgres' }),
      ]);
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: HOSTS.map((name) => ({ name, ups: ['nas-ups'] })),
        stages: [
          { name: 'early', hosts: ['app1'], trigger: { onBattery: '1s' }, grace: '10s' },
          { name: 'critical', hosts: ['db1'], trigger: { lowBattery: true, dead: true }, grace: '10s' },
          { name: 'late', hosts: ['spare1'], trigger: { onBattery: '10m' } },
        ],
        restore: { stableFor: '1s' },
      });
      const nas = await fleet.enroll('nas');
      await fleet.writeAgentConfig(nas, [
        'ups:',
        '  - id: nas-ups',
        `    upsd: ${upsd.host}:${upsd.port}`,
        `    name: ${upsd.ups}`,
        '    pollInterval: 250ms',
        '    deadTime: 3s',
      ]);
      for (const name of HOSTS) {
        const enrolled = await fleet.enroll(name);
        await fleet.writeAgentConfig(
          enrolled,
          hostSection(recordingShutdown(record(), name, { killAgent: true })),
        );
      }
      await Promise.all(
        ['nas', ...HOSTS].map(async (name) => agents.set(name, await fleet.startAgent(name))),
      );
      await fleet.coordinator.waitForLine(/UPS event ups=nas-ups status=OL/, 'the first reading');
    });

    afterAll(async () => {
      await fleet?.close();
      await upsd?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('keeps the run going through unknown readings and follows the dead-UPS rule', async () => {
      const coordinator = fleet.coordinator;
      await upsd.setStatus('OB DISCHRG', { 'battery.charge': '80', 'battery.runtime': '1500' });
      expect(await agent('app1').exited).toBe('SIGKILL');

      // upsd restarts under the watcher's feet; the run is not mistaken for over.
      const beforeRestart = agent('nas').mark();
      const readAgain = coordinator.mark();
      await upsd.restartUpsd();
      await agent('nas').waitForLine(
        /connected to upsd for UPS nas-ups/,
        'the watcher back on upsd',
        beforeRestart,
      );
      await coordinator.waitForLine(/UPS event ups=nas-ups status="OB DISCHRG"/, 'OB read again', readAgain);
      const [during] = await fleet.runs();
      expect(during).toMatchObject({ state: 'active', endReason: null });

      // The driver stops: unknown readings, then the dead-UPS verdict, then the critical stage.
      const beforeStop = coordinator.mark();
      await upsd.stopDriver();
      await coordinator.waitForLine(
        /UPS event ups=nas-ups status=unknown .*dead=true/,
        'the UPS dead',
        beforeStop,
      );
      expect(await agent('db1').exited).toBe('SIGKILL');
      expect(await recordedHosts(record())).toEqual(['app1', 'db1']);

      // The driver comes back, then mains.
      const ending = coordinator.mark();
      await upsd.startDriver();
      await upsd.setStatus('OL', { 'battery.charge': '70', 'battery.runtime': '1400' });
      await coordinator.waitForLine(/run 1 ended: restored/, 'the run ended', ending);
      expect(await recordedHosts(record())).toEqual(['app1', 'db1']);
      expect(agent('spare1').child.exitCode).toBeNull();

      const runs = await fleet.runs();
      expect(runs).toHaveLength(1);
      const run = await fleet.run(runs[0]?.id ?? '');
      expect(run).toMatchObject({ state: 'ended', endReason: 'restored' });
      expect(run.orders.map((order) => [order.host, order.stage])).toEqual([
        ['app1', 'early'],
        ['db1', 'critical'],
      ]);
      const fired = run.timeline.filter((entry) => entry.kind === 'stage-fired');
      expect(fired.map((entry) => entry.stage)).toEqual(['early', 'critical']);
      expect(fired[1]?.detail).toContain('dead UPS');
      expect(timelineOf(run)).toEqual(expect.arrayContaining([['stage-cancelled', 'late']]));
    }, 120_000);
  },
);
