/**
 * Fault: the coordinator is SIGKILLed at a random point of a run and restarted on the same embedded
 * database, several times. Real upsd + dummy-ups, a real watcher agent, three host agents; every
 * part a separate process. Each iteration is one outage: two stages that must run (app1 after 1 s
 * on battery, db1 after 2 s once app1 is down) and one that must not (spare1 after 10 minutes);
 * the kill lands somewhere in the first 4 s after upsd shows OB, a point drawn from a printed seed.
 *
 * A host's harmless shutdown records itself and SIGKILLs its agent, as a poweroff would; the next
 * iteration starts it again. After each outage: both stages ran, each host exactly once, spare1
 * never, and the stored run (orders and timeline) matches the record.
 *
 * Stage order is what the policy promises, no more: db1 is ordered only once app1 counts as down,
 * and app1 counts as down either because it confirmed (then it ran first) or because its grace
 * expired (then it may run after db1: it was still reconnecting). A host's reconnect backoff after
 * the coordinator's outage reaches 15–30 s (shared/src/backoff.ts), so the grace here is longer
 * than that, or a slow restart on a loaded machine makes the grace rule, not the order, decide.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FleetHarness, hostSection, startFleet, timelineOf } from '../helpers/fleet-harness.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { chooseSeed, countFromEnv, createRandom } from '../helpers/seeded-random.js';
import { readRecord, recordingShutdown } from '../helpers/shutdown-record.js';
import { describeUpsd, startUpsd, type UpsdHarness } from '../helpers/upsd.js';

const ADMIN_TOKEN = 'fault-sigkill-admin-token-0123456789';
const STAGED = ['app1', 'db1'] as const;
const KILL_WINDOW_MS = 4_000;
/** Longer than the agents' largest reconnect delay (30 s) plus a coordinator restart. */
const GRACE = '60s';
const ITERATIONS = countFromEnv('UPSFLEET_FAULT_KILLS', 3);

/** What the coordinator had logged of this outage when it was killed, for the test's output. */
function milestones(lines: readonly string[]): string {
  const seen = lines
    .map(
      (line) =>
        /(UPS event ups=\S+ status="OB|run \d+ started|stage \w+ fired|shutdown order for \w+|ack \w+|result \w+|\w+ down \(\w+\))/.exec(
          line,
        )?.[1],
    )
    .filter((text) => text !== undefined);
  return seen.length === 0 ? 'nothing of this outage yet' : seen.join(' → ');
}

describeUpsd('fault: coordinator SIGKILLed at random points of a run', () => {
  let dir: string;
  let upsd: UpsdHarness;
  let fleet: FleetHarness;
  const hosts = new Map<string, WatchedProcess>();
  const record = () => join(dir, 'shutdowns.log');

  async function startHost(name: string): Promise<void> {
    hosts.set(name, await fleet.startAgent(name));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-fault-kill-'));
    [upsd, fleet] = await Promise.all([startUpsd(), startFleet({ dir, adminToken: ADMIN_TOKEN })]);
    await fleet.api('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: ['app1', 'db1', 'spare1'].map((name) => ({ name, ups: ['nas-ups'] })),
      stages: [
        { name: 'first', hosts: ['app1'], trigger: { onBattery: '1s' }, grace: GRACE },
        { name: 'second', hosts: ['db1'], trigger: { onBattery: '2s' }, after: ['first'], grace: GRACE },
        { name: 'never', hosts: ['spare1'], trigger: { onBattery: '10m' } },
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
    ]);
    for (const name of ['app1', 'db1', 'spare1']) {
      const agent = await fleet.enroll(name);
      await fleet.writeAgentConfig(
        agent,
        hostSection(recordingShutdown(record(), name, { killAgent: true })),
      );
    }
    await Promise.all(['nas', 'spare1'].map(startHost));
    await fleet.coordinator.waitForLine(/UPS event ups=nas-ups status=OL/, 'the first reading');
  });

  afterAll(async () => {
    await fleet?.close();
    await upsd?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(
    `loses no stage and runs none twice across ${ITERATIONS} kills`,
    async () => {
      const random = createRandom(chooseSeed('UPSFLEET_FAULT_SEED', 'coordinator SIGKILL points', 'random'));
      for (let iteration = 1; iteration <= ITERATIONS; iteration += 1) {
        // The staged hosts are up again (their shutdown took their agents down last time).
        await Promise.all(STAGED.map(startHost));
        const recordedBefore = (await readRecord(record())).length;
        const killAfter = Math.round(random() * KILL_WINDOW_MS);
        const mark = fleet.coordinator.mark();
        await upsd.setStatus('OB DISCHRG', { 'battery.charge': '90', 'battery.runtime': '1800' });
        // The fault schedule (not a synchronisation): where in the run the kill lands.
        await new Promise((resolve) => setTimeout(resolve, killAfter));
        const reached = milestones(fleet.coordinator.lines.slice(mark));
        await fleet.restartCoordinator('SIGKILL');
        console.info(`iteration ${iteration}: SIGKILL ${killAfter} ms after OB, after: ${reached}`);

        // Both stages run after the restart (or had run before it), each host exactly once.
        for (const name of STAGED) expect(await hosts.get(name)?.exited).toBe('SIGKILL');
        const from = fleet.coordinator.mark();
        await upsd.setStatus('OL', { 'battery.charge': '85', 'battery.runtime': '1700' });
        await fleet.coordinator.waitForLine(/run \d+ ended: restored/, 'the run ended', from);
        const ran = (await readRecord(record())).slice(recordedBefore).map((entry) => entry.host);
        expect([...ran].sort(), `iteration ${iteration}`).toEqual([...STAGED]);
        expect(hosts.get('spare1')?.child.exitCode).toBeNull();

        // The stored run says the same: one order per staged host, nothing for spare1.
        const runs = await fleet.runs();
        expect(runs).toHaveLength(iteration);
        const run = await fleet.run(runs[0]?.id ?? '');

        // Stage order: db1 was ordered only after app1 counted as down; app1 ran first unless it
        // counted as down by its grace (then the grace rule, not the order, applies).
        const app1Down = run.timeline.findIndex((e) => e.kind === 'host-down' && e.host === 'app1');
        const db1Order = run.timeline.findIndex((e) => e.kind === 'order' && e.host === 'db1');
        expect(app1Down, `iteration ${iteration}: app1 counted as down`).toBeGreaterThanOrEqual(0);
        expect(db1Order, `iteration ${iteration}: db1 ordered after app1 was down`).toBeGreaterThan(app1Down);
        const app1DownHow = run.timeline[app1Down]?.detail;
        if (app1DownHow === 'grace-expired')
          console.info(
            `iteration ${iteration}: app1's grace expired before it reconnected; ran ${ran.join(', ')}`,
          );
        else expect(ran, `iteration ${iteration}: app1 down (${app1DownHow})`).toEqual([...STAGED]);
        expect(run).toMatchObject({ state: 'ended', endReason: 'restored' });
        expect([...run.firedStages].sort()).toEqual(['first', 'second']);
        expect(run.orders.map((order) => [order.host, order.stage]).sort()).toEqual([
          ['app1', 'first'],
          ['db1', 'second'],
        ]);
        for (const order of run.orders) {
          expect(order.ackStatus ?? 'accepted').toMatch(/^(accepted|duplicate)$/);
          expect(order.outcome ?? 'started').toMatch(/^(started|succeeded)$/);
        }
        const timeline = timelineOf(run);
        expect(timeline).toEqual(
          expect.arrayContaining([
            ['stage-fired', 'first'],
            ['stage-fired', 'second'],
            ['host-down', 'app1'],
            ['host-down', 'db1'],
            ['stage-cancelled', 'never'],
            ['run-ended', null],
          ]),
        );
        expect(timeline.filter(([kind]) => kind === 'order')).toHaveLength(2);
        expect(timeline.filter(([kind]) => kind === 'stage-fired')).toHaveLength(2);
      }
    },
    60_000 + ITERATIONS * 90_000,
  );
});
