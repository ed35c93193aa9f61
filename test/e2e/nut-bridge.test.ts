/**
 * The NUT bridge end to end, with Debian's real NUT: a real upsd + dummy-ups read by the site
 * agent's watcher; the same agent serves NUT (`bridge:`) to two real `upsmon` secondaries that run
 * no upsfleet agent, each a legacy host (`nut: { bridge: site }`) in its own stage. `upsc` reads the
 * real variables through the bridge; a power blip shorter than the first stage's delay shuts nothing
 * down; an outage shows FSD to each upsmon only when its own stage fires, each runs its (harmless)
 * SHUTDOWNCMD in stage order, and the run records their leaving as confirmations.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startUpsmon, type Upsmon, upsmonMissingReason } from '../bench/upsmon.js';
import { type FleetHarness, startFleet } from '../helpers/fleet-harness.js';
import { describeRequiring } from '../helpers/requirements.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';
import { openRawNut } from '../nut/raw-nut.js';

const run = promisify(execFile);
const ADMIN_TOKEN = 'nut-bridge-e2e-admin-token-0123456789';
const TIMERS = { pollFreq: 1, pollFreqAlert: 1, hostSync: 15, deadTime: 15, finalDelay: 1 };

interface Credentials {
  username: string;
  password: string;
  ups: string | null;
  address: string | null;
  monitor: string | null;
}

describeRequiring(
  'NUT bridge: real upsmon and upsc against the site agent',
  upsdMissingReason() ?? upsmonMissingReason(),
  () => {
    let dir: string;
    let upsd: UpsdHarness;
    let fleet: FleetHarness;
    let bridgePort: number;
    const upsmons: Upsmon[] = [];
    const accounts: Record<string, Credentials> = {};

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-nut-bridge-'));
      [upsd, fleet] = await Promise.all([startUpsd(), startFleet({ dir, adminToken: ADMIN_TOKEN })]);
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'site' }],
        hosts: [
          { name: 'nas2', ups: ['nas-ups'], nut: { bridge: 'site' } },
          { name: 'winbox', ups: ['nas-ups'], nut: { bridge: 'site', alias: 'ups' } },
        ],
        stages: [
          { name: 'first', hosts: ['nas2'], trigger: { onBattery: '4s' } },
          { name: 'second', hosts: ['winbox'], trigger: { onBattery: '9s' } },
        ],
        restore: { stableFor: '1s' },
      });
      const site = await fleet.enroll('site');
      await fleet.writeAgentConfig(site, [
        'ups:',
        `  - { id: nas-ups, upsd: "127.0.0.1:${upsd.port}", name: ups, pollInterval: 250ms }`,
        'bridge:',
        '  listen: 127.0.0.1:0',
      ]);
      const agent = await fleet.startAgent('site');
      const served = await agent.waitForLine(/bridge: serving NUT on 127\.0\.0\.1:(\d+)/, 'bridge listening');
      bridgePort = Number(/:(\d+)/.exec(served.slice(served.indexOf('127.0.0.1')))?.[1]);
      for (const host of ['nas2', 'winbox'])
        accounts[host] = await fleet.api<Credentials>('POST', `/api/v1/hosts/${host}/nut-credentials`, {});
    });
    afterAll(async () => {
      for (const upsmon of upsmons) await upsmon.stop();
      await fleet?.close();
      await upsd?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const upsc = async (target: string) => (await run('upsc', [target])).stdout;

    it('prints the MONITOR line with the bridge’s address, and upsc lists the real variables', async () => {
      expect(accounts.nas2?.monitor).toBe(
        `MONITOR nas-ups@127.0.0.1:${bridgePort} 1 nas2 ${accounts.nas2?.password} secondary`,
      );
      expect(accounts.winbox?.ups).toBe('ups');
      const real = await upsc(`ups@127.0.0.1:${upsd.port}`);
      // The bridge serves what the watcher last sent: wait until it has the first full reading.
      await expect
        .poll(() => upsc(`nas-ups@127.0.0.1:${bridgePort}`).catch(() => ''), { timeout: 15_000 })
        .toBe(real);
    });

    it('answers a wrong password with ERR ACCESS-DENIED at LOGIN', async () => {
      const raw = await openRawNut(bridgePort);
      expect(await raw.send('USERNAME nas2\nPASSWORD wrong\nLOGIN nas-ups\n', 3)).toEqual([
        'OK\n',
        'OK\n',
        'ERR ACCESS-DENIED\n',
      ]);
      raw.close();
    });

    it('two upsmon secondaries log in; a blip shorter than the first stage’s delay shuts nothing down', async () => {
      for (const host of ['nas2', 'winbox']) {
        const account = accounts[host] as Credentials;
        const home = join(dir, `upsmon-${host}`);
        await mkdir(home, { recursive: true });
        upsmons.push(
          await startUpsmon(home, { port: bridgePort, ups: account.ups ?? 'nas-ups' }, TIMERS, account),
        );
      }
      await upsd.setStatus('OB DISCHRG', { 'battery.charge': '95' });
      await upsd.setStatus('OL', { 'battery.charge': '100' });
      // The coordinator saw the blip end (ONLINE), and no stage fired.
      await expect
        .poll(
          async () => {
            const { items } = await fleet.api<{
              items: { ups: string; power: string; lastEvents: string[] }[];
            }>('GET', '/api/v1/ups');
            return items.map((u) => [u.ups, u.power, u.lastEvents]);
          },
          { timeout: 15_000 },
        )
        .toEqual([['nas-ups', 'online', ['ONLINE']]]);
      expect((await fleet.runs()).flatMap((r) => r.firedStages)).toEqual([]);
      for (const upsmon of upsmons) expect(await upsmon.shutdownAt()).toBeUndefined();
      const nas2 = accounts.nas2 as Credentials;
      expect(await upsc(`nas-ups@127.0.0.1:${bridgePort}`)).toContain('ups.status: OL\n');
      const raw = await openRawNut(bridgePort);
      // winbox logged in under its alias, as Synology DSM would.
      expect(await raw.send('GET NUMLOGINS nas-ups\nGET NUMLOGINS ups\n', 2)).toEqual([
        'NUMLOGINS nas-ups 1\n',
        'NUMLOGINS ups 1\n',
      ]);
      raw.close();
      expect(nas2.username).toBe('nas2');
    });

    it('an outage: each upsmon shuts down only when its own stage fires, in stage order; the run records both', async () => {
      const [first, second] = upsmons as [Upsmon, Upsmon];
      await upsd.setStatus('OB DISCHRG', { 'battery.charge': '80' });
      await first.exited;
      const firstAt = (await first.shutdownAt()) as number;
      expect(firstAt).toBeGreaterThan(0);
      // The second stage has not fired yet: its upsmon is still up, logged in, shown no FSD.
      expect(await second.shutdownAt()).toBeUndefined();
      await second.exited;
      const secondAt = (await second.shutdownAt()) as number;
      expect(secondAt).toBeGreaterThan(firstAt);

      const [outage] = await fleet.runs();
      const view = await fleet.run(outage?.id as string);
      const at = (kind: string, key: string) =>
        Date.parse(
          (
            view.timeline.find((e) => e.kind === kind && (e.stage === key || e.host === key)) as {
              at?: string;
            }
          )?.at ?? '',
        );
      expect(view.firedStages).toEqual(['first', 'second']);
      // upsmon ran SHUTDOWNCMD after its own stage fired, and the first before the second stage fired.
      expect(firstAt).toBeGreaterThanOrEqual(at('stage-fired', 'first'));
      expect(firstAt).toBeLessThan(at('stage-fired', 'second'));
      expect(secondAt).toBeGreaterThanOrEqual(at('stage-fired', 'second'));
      await expect
        .poll(async () => {
          const timeline = (await fleet.run(outage?.id as string)).timeline;
          return timeline
            .filter((e) => e.kind === 'nut-fsd-result' || e.kind === 'host-down')
            .map((e) => [e.kind, e.host, e.detail?.replace(/ \(.*\)/, '')]);
        })
        .toEqual([
          // upsmon 2.8.0 exits after SHUTDOWNCMD without sending LOGOUT: its connection closes.
          ['nut-fsd-result', 'nas2', "succeeded: nas2's NUT client disconnected after FSD: shutdown started"],
          ['host-down', 'nas2', 'confirmed'],
          [
            'nut-fsd-result',
            'winbox',
            "succeeded: winbox's NUT client disconnected after FSD: shutdown started",
          ],
          ['host-down', 'winbox', 'confirmed'],
        ]);
    });
  },
);
