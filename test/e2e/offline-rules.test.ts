/**
 * A host that loses the coordinator still follows its stage. Real parts: a real upsd (dummy-ups), a
 * coordinator on a private PostgreSQL (so that the database can be stopped), a watcher reading upsd,
 * and two host agents in two stages — web1 in `apps` (6 s on battery), db1 in `db` (after apps) —
 * each reading upsd itself (`host.upsd:`) and reaching the coordinator through a TCP proxy the test
 * silences (bytes dropped both ways, nothing closed) or restores. The lease is signed every second
 * here (it lasts 3 s; the product default is every 5 s, lasting 15 s). Each "shutdown" appends the
 * host's name to a record; the agents stay up. One setup, the cases in order.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FleetHarness, startFleet } from '../helpers/fleet-harness.js';
import {
  type PrivatePostgres,
  privatePostgresMissingReason,
  startPrivatePostgres,
} from '../helpers/private-postgres.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { describeRequiring } from '../helpers/requirements.js';
import { readRecord, recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';

const ADMIN_TOKEN = 'offline-rules-admin-token-0123456789';
const HOSTS = ['web1', 'db1'] as const;
type Host = (typeof HOSTS)[number];

describeRequiring(
  'offline rules: hosts follow their stage without the coordinator',
  upsdMissingReason() ?? privatePostgresMissingReason(),
  () => {
    let dir: string;
    let upsd: UpsdHarness;
    let pg: PrivatePostgres;
    let fleet: FleetHarness;
    const proxies = new Map<Host, TcpProxy>();
    const agents = new Map<Host, WatchedProcess>();
    const record = () => join(dir, 'shutdowns.log');
    const agent = (name: Host) => agents.get(name) as WatchedProcess;
    const proxy = (name: Host) => proxies.get(name) as TcpProxy;
    const marks = () => new Map(HOSTS.map((name) => [name, agent(name).mark()]));
    const each = (what: (name: Host) => Promise<unknown>) => Promise.all(HOSTS.map(what));

    async function start(name: Host, connected = true): Promise<void> {
      // At debug level each host logs every lease it accepts: the tests wait for one before silencing.
      agents.set(name, await fleet.startAgent(name, { connected, logLevel: 'debug' }));
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-offline-'));
      [upsd, pg] = await Promise.all([startUpsd(), startPrivatePostgres()]);
      fleet = await startFleet({
        dir,
        adminToken: ADMIN_TOKEN,
        database: { url: pg.url },
        env: { UPSFLEET_LEASE_INTERVAL: '1s' },
      });
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: HOSTS.map((name) => ({ name, ups: ['nas-ups'] })),
        stages: [
          { name: 'apps', hosts: ['web1'], trigger: { onBattery: '6s' }, grace: '6s' },
          { name: 'db', hosts: ['db1'], trigger: { onBattery: '6s' }, after: ['apps'], grace: '6s' },
        ],
        restore: { stableFor: '1s' },
      });
      const reading = [
        `    - { id: nas-ups, upsd: "127.0.0.1:${upsd.port}", name: ${upsd.ups}, pollInterval: 500ms }`,
      ];
      const nas = await fleet.enroll('nas');
      await fleet.writeAgentConfig(nas, ['ups:', ...reading.map((line) => line.slice(2))]);
      await fleet.startAgent('nas');
      for (const name of HOSTS) {
        const target = await startTcpProxy({ host: '127.0.0.1', port: fleet.port });
        proxies.set(name, target);
        const enrolled = await fleet.enroll(name, target.url);
        await fleet.writeAgentConfig(
          enrolled,
          [
            'host:',
            `  shutdown: ${JSON.stringify(recordingShutdown(record(), name, { killAgent: false }))}`,
            '  upsd:',
            ...reading,
          ],
          target.url,
        );
        await start(name);
      }
      await each(async (name) => {
        await agent(name).waitForLine(/this host reads UPS nas-ups: OL/, `${name} reads upsd`);
        await agent(name).waitForLine(/briefing \d+: .*on its own: stage/, `${name} briefed with its rule`);
      });
    });

    afterAll(async () => {
      // After its database was restarted, the coordinator sometimes stays alive past "coordinator
      // stopped" (a timer of another part); nothing is left to observe here, so it is killed.
      await fleet?.coordinator.stop('SIGKILL');
      await fleet?.close();
      for (const each of proxies.values()) await each.close();
      await pg?.close();
      await upsd?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('1: the link goes silent, mains stays on: on its own, its own reading says mains, nothing shuts down', async () => {
      // Each host holds a fresh lease first: under load a late lease round can put a host on its own
      // before the link is silenced, and its "no valid lease" would then come before this test's mark.
      const leased = marks();
      await each((name) =>
        agent(name).waitForLine(
          /lease \d+: the coordinator decides/,
          `${name} holds a lease`,
          leased.get(name),
        ),
      );
      const from = marks();
      for (const name of HOSTS) proxy(name).silence();
      await each(async (name) => {
        await agent(name).waitForLine(/on its own: no valid lease/, `${name} on its own`, from.get(name));
        await agent(name).waitForLine(
          /on its own: mains: nas-ups online \(own reading\)/,
          'mains',
          from.get(name),
        );
      });
      expect(await recordedHosts(record())).toEqual([]);
    });

    it("3: still silent, a power blip shorter than the stage's delay: a countdown, cancelled by mains", async () => {
      const from = marks();
      await upsd.setStatus('OB DISCHRG');
      await each((name) =>
        agent(name).waitForLine(
          /on its own: shutting down at \S+ \(in /,
          `${name} counts down`,
          from.get(name),
        ),
      );
      await upsd.setStatus('OL');
      await each((name) =>
        agent(name).waitForLine(/on its own: mains/, `${name} sees mains again`, from.get(name)),
      );
      expect(await recordedHosts(record())).toEqual([]);
    });

    it('2 and 5: silent, then mains fails: each host shuts down by its offline rule, in stage order, once — db1 at its original time across a restart — and the run shows it when the link returns', async () => {
      const from = marks();
      await upsd.setStatus('OB DISCHRG');
      const countdown = /on its own: shutting down at (\S+) \(in [^)]*\) by stage db's offline rule/;
      const line = await agent('db1').waitForLine(countdown, 'db1 counts down', from.get('db1'));
      const due = countdown.exec(line)?.[1];
      // Killed mid-countdown and started again, still cut off: it resumes at the original time.
      await agent('db1').stop('SIGKILL');
      await start('db1', false);
      await agent('db1').waitForLine(/resuming on its own since/, 'db1 resumes');
      const again = await agent('db1').waitForLine(countdown, 'db1 counts down again');
      expect(countdown.exec(again)?.[1]).toBe(due);
      await agent('web1').waitForLine(/offline shutdown succeeded/, 'web1 down', from.get('web1'));
      await agent('web1').waitForLine(/by stage apps's offline rule/, "web1's rule", from.get('web1'));
      await agent('db1').waitForLine(/offline shutdown succeeded/, 'db1 down');
      const runs = await readRecord(record());
      expect(runs.map((entry) => entry.host)).toEqual(['web1', 'db1']);
      expect(runs[1]?.at).toBeGreaterThanOrEqual(Date.parse(due ?? ''));

      // The link returns: each reports what it did; the coordinator writes it into the run.
      const coordinator = fleet.coordinator.mark();
      for (const name of HOSTS) proxy(name).unsilence();
      await fleet.coordinator.waitForLine(/web1 reports what it did on its own/, 'web1 reports', coordinator);
      await fleet.coordinator.waitForLine(/db1 reports what it did on its own/, 'db1 reports', coordinator);
      const [latest] = await fleet.runs();
      const timeline = (await fleet.run(latest?.id ?? '')).timeline;
      for (const name of HOSTS) {
        expect(timeline).toContainEqual(expect.objectContaining({ kind: 'offline-report', host: name }));
        expect(timeline).toContainEqual(
          expect.objectContaining({
            kind: 'offline-shutdown',
            host: name,
            detail: 'offline decision: started',
          }),
        );
      }
      // The orders the coordinator issued meanwhile reach web1 now: refused, never run a second time.
      await agent('web1').waitForLine(/rejected: already shut down/, "web1 refuses the coordinator's order");
      expect(await recordedHosts(record())).toEqual(['web1', 'db1']);

      const restored = fleet.coordinator.mark();
      await upsd.setStatus('OL');
      await fleet.coordinator.waitForLine(/run \d+ ended: restored/, 'the run ends', restored);
    });

    it('4: the database stops while the sockets stay open, UPS on battery: the hosts act on lease expiry', async () => {
      // Fresh agent processes (a real host would have rebooted), connected, holding leases.
      for (const name of HOSTS) {
        await agent(name).stop('SIGKILL');
        await start(name);
      }
      const from = marks();
      await pg.stop();
      await each((name) =>
        agent(name).waitForLine(/on its own: no valid lease/, `${name} without a lease`, from.get(name)),
      );
      expect(fleet.coordinator.child.exitCode).toBeNull();
      await upsd.setStatus('OB DISCHRG');
      await agent('web1').waitForLine(/offline shutdown succeeded/, 'web1 down', from.get('web1'));
      await agent('db1').waitForLine(/offline shutdown succeeded/, 'db1 down', from.get('db1'));
      expect(await recordedHosts(record())).toEqual(['web1', 'db1', 'web1', 'db1']);

      const coordinator = fleet.coordinator.mark();
      await pg.start();
      await each((name) =>
        agent(name).waitForLine(/a valid lease again/, `${name} leased again`, from.get(name)),
      );
      await fleet.coordinator.waitForLine(/reports what it did on its own/, 'a report', coordinator);
      await upsd.setStatus('OL');
    });
  },
);
