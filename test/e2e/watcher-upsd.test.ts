/**
 * The watcher against a real upsd + dummy-ups (Debian's nut-server), with the coordinator and the
 * agent as separate processes: the exact sequence of upsmon events that reaches the coordinator
 * for OL → OB DISCHRG → OB LB → OL, a driver stop, an upsd restart, the dead-UPS rule, and a
 * second UPS entry with a wrong password.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAdminApi } from '../helpers/admin-api.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';
import { describeUpsd, startUpsd, type UpsdHarness } from '../helpers/upsd.js';

const ADMIN_TOKEN = 'watcher-e2e-admin-token-0123456789';

interface StoredEvent {
  seq: number;
  ups: string;
  events: string[];
  status: string[] | null;
  dead: boolean;
  agentId: string;
}

describeUpsd('watcher → coordinator on a real upsd', () => {
  let dir: string;
  let upsd: UpsdHarness;
  let coordinator: WatchedProcess;
  let agent: WatchedProcess;
  let base: string;

  const { call: api } = createAdminApi({ base: () => base, token: ADMIN_TOKEN });

  /** Waits until the coordinator has stored an event of `ups` matching `pattern`, printed after `from`. */
  const stored = (pattern: string, from: number) =>
    coordinator.waitForLine(new RegExp(`UPS event ups=nas-ups ${pattern}`), pattern, from);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-watcher-'));
    upsd = await startUpsd();
    coordinator = spawnUpsfleet(
      'coordinator',
      ['coordinator', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
      {
        UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
      },
    );
    base = await coordinatorUrl(coordinator);
    await api('PUT', '/api/v1/policy', {
      ups: [
        { name: 'nas-ups', watcher: 'nas' },
        { name: 'nas-ups-badauth', watcher: 'nas' },
      ],
      hosts: [],
      stages: [],
    });
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name: 'nas' });
    const stateDir = join(dir, 'nas-state');
    const enroll = spawnUpsfleet('enroll', [
      'enroll',
      '--coordinator',
      base,
      '--token',
      token,
      '--name',
      'nas',
      '--state-dir',
      stateDir,
    ]);
    expect(await enroll.exited).toBe(0);
    const upsdAddress = `${upsd.host}:${upsd.port}`;
    const config = join(dir, 'nas.yaml');
    await writeFile(
      config,
      [
        `coordinator: ${base}`,
        `stateDir: ${stateDir}`,
        'ups:',
        '  - id: nas-ups',
        `    upsd: ${upsdAddress}`,
        `    name: ${upsd.ups}`,
        '    username: monsec',
        '    password: secpass',
        '    pollInterval: 250ms',
        '    deadTime: 3s',
        '  - id: nas-ups-badauth',
        `    upsd: ${upsdAddress}`,
        `    name: ${upsd.ups}`,
        '    username: monsec',
        '    password: not-the-password',
        '    pollInterval: 1s',
      ].join('\n'),
    );
    agent = spawnUpsfleet('agent', ['agent', '--config', config]);
  });

  afterAll(async () => {
    await agent?.stop();
    await coordinator?.stop();
    await upsd?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('delivers exactly the events upsmon would, in order, with contiguous sequence numbers', async () => {
    // The first reading is reported without ONLINE, as upsmon does at start-up.
    await coordinator.waitForLine(/UPS event ups=nas-ups status=OL events="" /, 'the first reading');
    await coordinator.waitForLine(/UPS event ups=nas-ups-badauth status=OL events="" /, 'the first reading');

    let from = coordinator.mark();
    await upsd.setStatus('OB DISCHRG', { 'battery.charge': '80', 'battery.runtime': '1500' });
    await stored('status="OB DISCHRG" events=ONBATT', from);

    from = coordinator.mark();
    await upsd.setStatus('OB LB', { 'battery.charge': '9', 'battery.runtime': '110' });
    await stored('status="OB LB" events=LOWBATT', from);

    from = coordinator.mark();
    await upsd.setStatus('OL', { 'battery.charge': '12', 'battery.runtime': '400' });
    await stored('status=OL events=ONLINE', from);

    // The driver stops: upsd answers DRIVER-NOT-CONNECTED, which is unknown, never on battery.
    from = coordinator.mark();
    await upsd.stopDriver();
    await stored('status=unknown events=COMMBAD', from);
    from = coordinator.mark();
    await upsd.startDriver();
    await stored('status=OL events=COMMOK', from);

    // upsd restarts: the connection drops and comes back.
    from = coordinator.mark();
    await upsd.restartUpsd();
    await stored('status=unknown events=COMMBAD', from);
    await stored('status=OL events=COMMOK', from);

    // The driver hangs: upsd keeps serving the last values until MAXAGE, then DATA-STALE (unknown).
    from = coordinator.mark();
    upsd.pauseDriver();
    await stored('status=unknown events=COMMBAD', from);
    await agent.waitForLine(
      /UPS nas-ups: state unknown — upsd says the data is stale \(ERR DATA-STALE\)/,
      'data stale',
    );
    from = coordinator.mark();
    upsd.resumeDriver();
    await stored('status=OL events=COMMOK', from);

    // On battery, then silence past the dead time: the UPS counts as critical (dead).
    from = coordinator.mark();
    await upsd.setStatus('OB DISCHRG', { 'battery.charge': '70' });
    await stored('status="OB DISCHRG" events=ONBATT', from);
    from = coordinator.mark();
    await upsd.stopDriver();
    await stored('status=unknown events=COMMBAD', from);
    await stored('status=unknown events="" dead=true', from);
    from = coordinator.mark();
    await upsd.startDriver();
    await stored('status="OB DISCHRG" events=COMMOK', from);
    from = coordinator.mark();
    await upsd.setStatus('OL');
    await stored('status=OL events=ONLINE', from);

    const { items } = await api<{ items: StoredEvent[] }>('GET', '/api/v1/events?limit=1000');
    const chronological = [...items].reverse();
    const main = chronological.filter((event) => event.ups === 'nas-ups');
    expect(main.flatMap((event) => event.events)).toEqual([
      'ONBATT',
      'LOWBATT',
      'ONLINE',
      'COMMBAD',
      'COMMOK',
      'COMMBAD',
      'COMMOK',
      'COMMBAD',
      'COMMOK',
      'ONBATT',
      'COMMBAD',
      'COMMOK',
      'ONLINE',
    ]);
    // Unknown readings are never on battery, and the dead verdict only follows an on-battery reading.
    for (const event of main.filter((e) => e.status === null)) expect(event.events).not.toContain('ONBATT');
    expect(main.filter((e) => e.dead).every((e) => e.status === null)).toBe(true);
    expect(main.some((e) => e.dead)).toBe(true);

    // Sequence numbers of this agent are contiguous across both UPSes.
    const seqs = chronological.map((event) => event.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));

    // The UPS with the wrong password: a clear log line naming it, and reading goes on without the
    // login (as upsmon does): its first report is a normal OL reading, not COMMBAD.
    await agent.waitForLine(
      /login to upsd as monsec failed for UPS nas-ups-badauth: .*ACCESS-DENIED/,
      'the refused login',
    );
    const [firstBadauth] = chronological.filter((event) => event.ups === 'nas-ups-badauth');
    expect(firstBadauth).toMatchObject({ status: ['OL'], events: [] });
  });
});
