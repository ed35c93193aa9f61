/**
 * Fault: hosts partitioned from the coordinator during an outage. Real coordinator and agent
 * processes; web1 and web2 reach the coordinator through TCP proxies the test cuts like a dead
 * switch, web3 directly. The watcher's signed readings are pushed over HTTP. One stage takes all
 * three down after 4 s on battery; web1's fallback rule is 2 s, web2's 60 s.
 *
 * - web1 stays cut off: it shuts down by its cached fallback rule, and its stage order is never
 *   delivered (the coordinator counts it down when its grace expires).
 * - web2's partition heals before its fallback is due: the coordinator is in charge again, the
 *   pending order is delivered late, and web2 shuts down once, by the order.
 * - web3 gets its order on time.
 * Each host's harmless shutdown records itself and SIGKILLs its agent, as a poweroff would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type FleetHarness,
  hostSection,
  type PushingWatcher,
  sharedPostgresMissingReason,
  startFleet,
  timelineOf,
} from '../helpers/fleet-harness.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { describeRequiring } from '../helpers/requirements.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const ADMIN_TOKEN = 'fault-partition-admin-token-0123456789';
const HOSTS = ['web1', 'web2', 'web3'] as const;

describeRequiring(
  'fault: hosts partitioned from the coordinator during an outage',
  await sharedPostgresMissingReason(),
  () => {
    let dir: string;
    let fleet: FleetHarness;
    let watcher: PushingWatcher;
    const proxies = new Map<string, TcpProxy>();
    const agents = new Map<string, WatchedProcess>();
    const record = () => join(dir, 'shutdowns.log');

    function agent(name: string): WatchedProcess {
      const found = agents.get(name);
      if (found === undefined) throw new Error(`no agent ${name}`);
      return found;
    }

    function proxy(name: string): TcpProxy {
      const found = proxies.get(name);
      if (found === undefined) throw new Error(`no proxy for ${name}`);
      return found;
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-fault-partition-'));
      fleet = await startFleet({ dir, adminToken: ADMIN_TOKEN, database: 'postgres' });
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: [
          { name: 'web1', ups: ['nas-ups'], fallback: { after: '2s' } },
          { name: 'web2', ups: ['nas-ups'], fallback: { after: '60s' } },
          { name: 'web3', ups: ['nas-ups'] },
        ],
        stages: [{ name: 'all', hosts: [...HOSTS], trigger: { onBattery: '4s' }, grace: '5s' }],
        restore: { stableFor: '1s' },
      });
      watcher = await fleet.enrollWatcher('nas');
      for (const name of HOSTS) {
        const via =
          name === 'web3' ? undefined : await startTcpProxy({ host: '127.0.0.1', port: fleet.port });
        if (via !== undefined) proxies.set(name, via);
        const enrolled = await fleet.enroll(name, via?.url);
        await fleet.writeAgentConfig(
          enrolled,
          hostSection(recordingShutdown(record(), name, { killAgent: true })),
          via?.url,
        );
      }
      await Promise.all(HOSTS.map(async (name) => agents.set(name, await fleet.startAgent(name))));
      await watcher.push('nas-ups', ['OL']);
    });

    afterAll(async () => {
      await fleet?.close();
      for (const each of proxies.values()) await each.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('shuts every host down exactly once: by its fallback when cut off, by the late order when the partition heals', async () => {
      const marks = new Map<string, number>(HOSTS.map((name) => [name, agent(name).mark()]));
      const from = fleet.coordinator.mark();
      await watcher.push('nas-ups', ['OB', 'DISCHRG']);
      for (const name of ['web1', 'web2'])
        await agent(name).waitForLine(/briefing \d+: nas-ups on battery/, `${name} briefed`, marks.get(name));

      // The switch in front of web1 and web2 dies.
      proxy('web1').cut();
      proxy('web2').cut();
      await agent('web1').waitForLine(
        /shutting down at \S+ \(in 2s\) by the fallback rule/,
        'web1 counting down',
      );
      await agent('web2').waitForLine(
        /shutting down at \S+ \(in 1m\) by the fallback rule/,
        'web2 counting down',
      );

      // web1 goes down by its own rule; the stage fires for all three; only web3 can hear it.
      expect(await agent('web1').exited).toBe('SIGKILL');
      expect(await agent('web3').exited).toBe('SIGKILL');
      await fleet.coordinator.waitForLine(/order waits for it host=web2/, 'web2 order waiting', from);
      expect((await recordedHosts(record())).sort()).toEqual(['web1', 'web3']);

      // web2's partition heals within its 60 s: the order arrives late and runs, once.
      const web2From = agent('web2').mark();
      proxy('web2').restore();
      await agent('web2').waitForLine(
        /a valid lease again after .* on its own: the coordinator decides/,
        'the countdown cancelled',
        web2From,
      );
      expect(await agent('web2').exited).toBe('SIGKILL');
      await fleet.coordinator.waitForLine(/web1 down \(grace-expired\)/, 'web1 counted down', from);

      const ending = fleet.coordinator.mark();
      await watcher.push('nas-ups', ['OL']);
      await fleet.coordinator.waitForLine(/run 1 ended: restored/, 'the run ended', ending);
      const ran = await recordedHosts(record());
      expect(ran.sort()).toEqual([...HOSTS]);

      // The run's record: web1 never answered its order (it was down by its fallback), the others did.
      const [summary] = await fleet.runs();
      const run = await fleet.run(summary?.id ?? '');
      const byHost = Object.fromEntries(run.orders.map((order) => [order.host, order]));
      expect(run.orders).toHaveLength(3);
      expect(byHost.web1).toMatchObject({ ackStatus: null, outcome: null });
      expect(byHost.web2).toMatchObject({ ackStatus: 'accepted', outcome: 'started' });
      expect(byHost.web3).toMatchObject({ ackStatus: 'accepted', outcome: 'started' });
      const downs = Object.fromEntries(
        run.timeline.filter((entry) => entry.kind === 'host-down').map((entry) => [entry.host, entry.detail]),
      );
      expect(downs).toEqual({ web1: 'grace-expired', web2: 'confirmed', web3: 'confirmed' });
      expect(timelineOf(run).filter(([kind]) => kind === 'stage-fired')).toEqual([['stage-fired', 'all']]);
    }, 90_000);
  },
);
