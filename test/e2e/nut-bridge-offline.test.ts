/**
 * The NUT bridge on its own, with Debian's real NUT: a real upsd + dummy-ups read by a watcher
 * agent (connected directly) and by the site agent's bridge itself (`bridge.upsd:`). The site agent
 * reaches the coordinator through a TCP proxy the test silences (bytes dropped both ways, nothing
 * closed); a real `upsmon` secondary (nas2, a legacy host in stage `first`, 4 s on battery) is
 * logged in to the bridge. The lease is signed every second here (it lasts 3 s). With the link
 * silent: a blip shorter than the stage's delay shows nothing; mains failing shows nas2 FSD by its
 * stage's offline rule and upsmon runs its (harmless) SHUTDOWNCMD, while `upsc` reads the bridge's own
 * reading (OB); when the link returns the run's timeline shows what the bridge did for nas2.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startUpsmon, type Upsmon, upsmonMissingReason } from '../bench/upsmon.js';
import { type FleetHarness, startFleet } from '../helpers/fleet-harness.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { describeRequiring } from '../helpers/requirements.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';

const run = promisify(execFile);
const ADMIN_TOKEN = 'nut-bridge-offline-admin-token-0123456789';
const TIMERS = { pollFreq: 1, pollFreqAlert: 1, hostSync: 15, deadTime: 15, finalDelay: 1 };

describeRequiring(
  'NUT bridge on its own: a real upsmon behind a bridge cut off from the coordinator',
  upsdMissingReason() ?? upsmonMissingReason(),
  () => {
    let dir: string;
    let upsd: UpsdHarness;
    let fleet: FleetHarness;
    let proxy: TcpProxy;
    let site: WatchedProcess;
    let upsmon: Upsmon;
    let port: number;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-bridge-offline-'));
      [upsd, fleet] = await Promise.all([
        startUpsd(),
        startFleet({ dir, adminToken: ADMIN_TOKEN, env: { UPSFLEET_LEASE_INTERVAL: '1s' } }),
      ]);
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: [{ name: 'nas2', ups: ['nas-ups'], nut: { bridge: 'site' } }],
        stages: [{ name: 'first', hosts: ['nas2'], trigger: { onBattery: '4s' } }],
        restore: { stableFor: '1s' },
      });
      const reading = `  - { id: nas-ups, upsd: "127.0.0.1:${upsd.port}", name: ${upsd.ups}, pollInterval: 250ms }`;
      const nas = await fleet.enroll('nas');
      await fleet.writeAgentConfig(nas, ['ups:', reading]);
      await fleet.startAgent('nas');
      proxy = await startTcpProxy({ host: '127.0.0.1', port: fleet.port });
      const enrolled = await fleet.enroll('site', proxy.url);
      await fleet.writeAgentConfig(
        enrolled,
        ['bridge:', '  listen: 127.0.0.1:0', '  upsd:', `  ${reading}`],
        proxy.url,
      );
      // At debug level the bridge logs every lease it accepts: the tests wait for one before silencing.
      site = await fleet.startAgent('site', { logLevel: 'debug' });
      const served = await site.waitForLine(/bridge: serving NUT on 127\.0\.0\.1:(\d+)/, 'bridge listening');
      port = Number(/127\.0\.0\.1:(\d+)/.exec(served)?.[1]);
      await site.waitForLine(/the bridge reads UPS nas-ups: OL/, 'the bridge reads upsd');
      const account = await fleet.api<{ username: string; password: string }>(
        'POST',
        '/api/v1/hosts/nas2/nut-credentials',
        {},
      );
      const home = join(dir, 'upsmon-nas2');
      await mkdir(home, { recursive: true });
      upsmon = await startUpsmon(home, { port, ups: 'nas-ups' }, TIMERS, account);
    });
    afterAll(async () => {
      await upsmon?.stop();
      await fleet?.close();
      await proxy?.close();
      await upsd?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the link goes silent: the bridge is on its own, its reading says mains; a blip shorter than the delay shows nothing', async () => {
      const leased = site.mark();
      await site.waitForLine(
        /bridge: lease \d+: the coordinator decides/,
        'the bridge holds a lease',
        leased,
      );
      const from = site.mark();
      proxy.silence();
      await site.waitForLine(/bridge on its own: no valid lease/, 'the bridge on its own', from);
      await site.waitForLine(/bridge on its own, for nas2: mains: nas-ups online/, 'mains', from);
      const blip = site.mark();
      await upsd.setStatus('OB DISCHRG');
      await site.waitForLine(/for nas2: shutting down at \S+ \(in /, 'a countdown', blip);
      await upsd.setStatus('OL');
      await site.waitForLine(/bridge on its own, for nas2: mains/, 'mains again', blip);
      expect(site.lines.slice(from).join('\n')).not.toMatch(/FSD shown/);
      expect(await upsmon.shutdownAt()).toBeUndefined();
    });

    it("still silent, mains fails: upsmon runs its SHUTDOWNCMD by its stage's offline rule, once; the run shows it when the link returns", async () => {
      const from = site.mark();
      await upsd.setStatus('OB DISCHRG');
      const countdown = /for nas2: shutting down at (\S+) \(in [^)]*\) by stage first's offline rule/;
      const due = countdown.exec(await site.waitForLine(countdown, 'the countdown', from))?.[1];
      // On its own the bridge serves what it reads itself, not the coordinator's last OL.
      await expect
        .poll(async () => (await run('upsc', [`nas-ups@127.0.0.1:${port}`, 'ups.status'])).stdout)
        .toBe('OB DISCHRG\n');
      await site.waitForLine(/FSD shown to nas2's NUT clients by stage first's offline rule/, 'FSD', from);
      await upsmon.exited;
      expect(await upsmon.shutdownAt()).toBeGreaterThanOrEqual(Date.parse(due ?? ''));

      const coordinator = fleet.coordinator.mark();
      proxy.unsilence();
      await fleet.coordinator.waitForLine(
        /nas2 reports what it did on its own \(through its NUT bridge site\)/,
        'the report',
        coordinator,
      );
      const [latest] = await fleet.runs();
      const timeline = (await fleet.run(latest?.id ?? '')).timeline;
      expect(timeline).toContainEqual(expect.objectContaining({ kind: 'offline-report', host: 'nas2' }));
      expect(timeline).toContainEqual(
        expect.objectContaining({
          kind: 'offline-shutdown',
          host: 'nas2',
          detail: "offline decision: FSD shown to its NUT clients by stage first's offline rule",
        }),
      );
      expect(
        site.lines
          .slice(from)
          .join('\n')
          .match(/FSD shown to nas2/g),
      ).toHaveLength(1);
      // The coordinator's own order for nas2 (its stage fired meanwhile) reaches the bridge now: its
      // client already left after FSD, and that is the order's result.
      await expect
        .poll(async () =>
          (await fleet.run(latest?.id ?? '')).timeline
            .filter((e) => e.kind === 'nut-fsd-result' && e.host === 'nas2')
            .map((e) => e.detail?.replace(/ \(.*\)/, '')),
        )
        .toEqual(["succeeded: nas2's NUT client disconnected after FSD: shutdown started"]);
      await site.waitForLine(
        /bridge: the coordinator decides nas2's FSD again/,
        'the coordinator decides',
        from,
      );
      const restored = fleet.coordinator.mark();
      await upsd.setStatus('OL');
      await fleet.coordinator.waitForLine(/run \d+ ended: restored/, 'the run ends', restored);
    });
  },
);
