/**
 * Fault: PostgreSQL goes away in the middle of a run and comes back. A private PostgreSQL server
 * (never the machine's shared one), the coordinator on it, three host agents, and the watcher's
 * signed readings pushed over HTTP. Power is lost, the run starts, and the server is stopped before
 * the first stage is due: the coordinator must survive without its database (readiness says so),
 * fire nothing it cannot record, and once the server is back carry on: both stages run, each host
 * exactly once, the third never, and the stored run matches what the hosts did. Afterwards the
 * database must still be the running coordinator's alone (one coordinator per database).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type FleetHarness,
  hostSection,
  type PushingWatcher,
  startFleet,
  timelineOf,
} from '../helpers/fleet-harness.js';
import {
  type PrivatePostgres,
  privatePostgresMissingReason,
  startPrivatePostgres,
} from '../helpers/private-postgres.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';
import { describeRequiring } from '../helpers/requirements.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';

const ADMIN_TOKEN = 'fault-pg-admin-token-0123456789abcdef';

describeRequiring('fault: PostgreSQL restarted mid-run', privatePostgresMissingReason(), () => {
  let dir: string;
  let pg: PrivatePostgres;
  let fleet: FleetHarness;
  let watcher: PushingWatcher;
  const hosts = new Map<string, WatchedProcess>();
  const record = () => join(dir, 'shutdowns.log');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-fault-pg-'));
    pg = await startPrivatePostgres();
    fleet = await startFleet({ dir, adminToken: ADMIN_TOKEN, database: { url: pg.url } });
    await fleet.api('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: ['app1', 'db1', 'spare1'].map((name) => ({ name, ups: ['nas-ups'] })),
      stages: [
        { name: 'first', hosts: ['app1'], trigger: { onBattery: '3s' }, grace: '10s' },
        { name: 'second', hosts: ['db1'], trigger: { onBattery: '3s' }, after: ['first'], grace: '10s' },
        { name: 'never', hosts: ['spare1'], trigger: { onBattery: '10m' } },
      ],
      restore: { stableFor: '1s' },
    });
    watcher = await fleet.enrollWatcher('nas');
    for (const name of ['app1', 'db1', 'spare1']) {
      const agent = await fleet.enroll(name);
      await fleet.writeAgentConfig(
        agent,
        hostSection(recordingShutdown(record(), name, { killAgent: true })),
      );
    }
    await Promise.all(
      ['app1', 'db1', 'spare1'].map(async (name) => hosts.set(name, await fleet.startAgent(name))),
    );
    await watcher.push('nas-ups', ['OL']);
  });

  afterAll(async () => {
    await fleet?.close();
    await pg?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('carries the run on once the database is back: no stage lost, none run twice', async () => {
    const coordinator = fleet.coordinator;
    const from = coordinator.mark();
    await watcher.push('nas-ups', ['OB', 'DISCHRG']);
    await coordinator.waitForLine(/run 1 started/, 'the run started', from);

    // The database goes away before the first stage is due (3 s on battery).
    await pg.stop();
    await coordinator.waitForLine(
      /engine tick failed: retrying/,
      'the stage deadline hitting the outage',
      from,
    );
    const ready = await fetch(`${fleet.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await recordedHosts(record())).toEqual([]);
    expect(coordinator.child.exitCode).toBeNull();

    // It comes back: the stages run, in order, once each.
    await pg.start();
    expect(await hosts.get('app1')?.exited).toBe('SIGKILL');
    expect(await hosts.get('db1')?.exited).toBe('SIGKILL');
    expect((await fetch(`${fleet.base}/readyz`)).status).toBe(200);

    const ending = coordinator.mark();
    await watcher.push('nas-ups', ['OL']);
    await coordinator.waitForLine(/run 1 ended: restored/, 'the run ended', ending);
    expect(await recordedHosts(record())).toEqual(['app1', 'db1']);
    expect(hosts.get('spare1')?.child.exitCode).toBeNull();
    // The same coordinator process all along: it rode out the outage.
    expect(fleet.coordinator).toBe(coordinator);
    expect(coordinator.child.exitCode).toBeNull();

    const [summary, ...older] = await fleet.runs();
    expect(older).toEqual([]);
    const run = await fleet.run(summary?.id ?? '');
    expect(run).toMatchObject({ state: 'ended', endReason: 'restored' });
    expect(run.orders.map((order) => [order.host, order.stage, order.ackStatus])).toEqual([
      ['app1', 'first', 'accepted'],
      ['db1', 'second', 'accepted'],
    ]);
    const timeline = timelineOf(run);
    expect(timeline).toEqual(
      expect.arrayContaining([
        ['run-started', null],
        ['stage-fired', 'first'],
        ['host-down', 'app1'],
        ['stage-fired', 'second'],
        ['host-down', 'db1'],
        ['stage-cancelled', 'never'],
        ['run-ended', null],
      ]),
    );
    expect(timeline.filter(([kind]) => kind === 'order')).toHaveLength(2);
  }, 90_000);

  it('still refuses a second coordinator on the same database after the restart', async () => {
    expect(fleet.coordinator.child.exitCode).toBeNull();
    const second = spawnUpsfleet(
      'second-coordinator',
      ['coordinator', '--listen', '127.0.0.1:0', '--database-url', pg.url],
      { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
    );
    const outcome = await Promise.race([
      second.exited.then((code) => `exited ${code}`),
      coordinatorUrl(second).then(
        (url) => `listening at ${url} beside the running coordinator`,
        () => 'exited',
      ),
    ]);
    await second.stop();
    expect(outcome, 'two coordinators would decide and send orders from one database').toBe('exited 1');
    expect(second.lines.join('\n')).toContain(
      'another upsfleet coordinator is using this PostgreSQL database',
    );
  }, 60_000);
});
