import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { AgentMessage, BridgeInput } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { signBridge, signLease } from '../../../shared/src/tokens.js';
import { createTempDir, manualTimers, nasUpsReading } from '../test-support.js';
import { openBridgeOffline } from './bridge-offline.js';
import { openBridgeState } from './bridge-state.js';

const T0 = Date.parse('2026-12-07T22:00:00Z');
const AGENT = 'agent-site';

/** nas2 in stage `first` (4 s on battery), winbox in `second` (9 s), both fed by nas-ups. */
function bridgeClaims(
  version: number,
  fsd: { nas2?: boolean; winbox?: boolean } = {},
  options: { status?: 'OL' | 'OB'; nas2Fallback?: number } = {},
): BridgeInput {
  const status = options.status ?? 'OL';
  const rule = (stage: string, onBattery: number) => [
    { stage, trigger: { onBattery }, wait: 0, waitBound: 0 },
  ];
  return {
    kind: 'bridge',
    version,
    upses: [
      { name: 'nas-ups', status: [status], vars: { 'ups.status': status }, dead: false, observedAt: T0 },
    ],
    hosts: [
      {
        name: 'nas2',
        ups: ['nas-ups'],
        alias: null,
        fsd: fsd.nas2 ?? false,
        offline: rule('first', 4_000),
        ...(options.nas2Fallback === undefined ? {} : { fallback: { after: options.nas2Fallback } }),
        minSupplies: 1,
      },
      {
        name: 'winbox',
        ups: ['nas-ups'],
        alias: null,
        fsd: fsd.winbox ?? false,
        offline: rule('second', 9_000),
        minSupplies: 1,
      },
    ],
    accounts: [],
  };
}

describe('NUT bridge on its own: its legacy hosts’ offline rules', () => {
  let dir: { path: string; remove(): Promise<void> };
  let coordinator: SigningKeyPair;
  let clock: ReturnType<typeof createManualClock>;
  let sent: AgentMessage[];

  beforeEach(async () => {
    dir = await createTempDir('bridge-offline');
    coordinator = (await generateSigningKey()).keyPair;
    clock = createManualClock(T0);
    sent = [];
  });
  afterEach(async () => dir.remove());

  const lease = (seq: number) => signLease(coordinator, seq, clock.now(), 15_000);
  const stateToken = (version: number, fsd?: { nas2?: boolean; winbox?: boolean }) =>
    signBridge(coordinator, { agentId: AGENT, claims: bridgeClaims(version, fsd), now: clock.now() });

  const reading = (status: 'OB' | 'OL', since?: number) => nasUpsReading(status, since, clock.now());

  /** The bridge's state and its offline logic as runAgent builds them, over the files in `dir`. */
  async function open(options: { bootTime?: number; firstState?: boolean } = {}) {
    const logger = createMemoryLogger();
    const timers = manualTimers();
    const state = await openBridgeState({
      agentId: AGENT,
      coordinatorKeys: () => [coordinator.publicKey],
      clockToleranceMs: 30_000,
      file: join(dir.path, 'bridge.jwt'),
      clock,
      logger,
    });
    if (options.firstState !== false) await state.accept(await stateToken(1));
    const offline = await openBridgeOffline({
      state,
      coordinatorKeys: () => [coordinator.publicKey],
      clockToleranceMs: 30_000,
      file: join(dir.path, 'bridge-offline.json'),
      send: async (message) => {
        sent.push(message);
      },
      bootTime: options.bootTime ?? T0 - 3_600_000,
      clock,
      logger,
      schedule: timers.schedule,
    });
    const lines = () => logger.entries.map((entry) => entry.message).join('\n');
    const fsd = () => ['nas2', 'winbox'].filter((host) => state.fsd(host));
    return { state, offline, timers, lines, fsd };
  }

  it('no valid lease within 15 s: on its own; mains in its own reading, nothing is ever shown FSD', async () => {
    const { offline, timers, lines, fsd } = await open();
    offline.linkState('open');
    offline.lease(await lease(1));
    offline.ownReadings(reading('OL'));
    await offline.idle();
    clock.advance(15_000);
    timers.fireAll();
    await offline.idle();
    expect(offline.onItsOwn()).toBe(true);
    expect(lines()).toMatch(/bridge on its own: no valid lease from the coordinator/);
    expect(lines()).toMatch(/bridge on its own, for nas2: mains: nas-ups online \(own reading\)/);
    clock.advance(600_000);
    offline.ownReadings(reading('OL'));
    timers.fireAll();
    await offline.idle();
    expect(fsd()).toEqual([]);
    await offline.stop();
  });

  it('a blip shorter than the delay shows nothing; then each host is shown FSD by its own stage’s rule, at its own time, once', async () => {
    const { offline, timers, lines, fsd } = await open();
    offline.linkState('closed');
    offline.ownReadings(reading('OB', T0));
    await offline.idle();
    expect(lines()).toMatch(
      new RegExp(
        `for nas2: shutting down at ${new Date(T0 + 4_000).toISOString()} \\(in 4s\\) by stage first's`,
      ),
    );
    clock.advance(2_000);
    offline.ownReadings(reading('OL'));
    timers.fireAll();
    await offline.idle();
    expect(lines()).toMatch(/for nas2: mains/);
    expect(fsd()).toEqual([]);

    const out = T0 + 3_000;
    clock.set(out);
    offline.ownReadings(reading('OB', out));
    await offline.idle();
    expect(timers.pending()).toEqual([4_000]);
    clock.advance(3_999); // a timer may fire a little early by the wall clock: it looks again
    timers.fireAll();
    await offline.idle();
    expect(fsd()).toEqual([]);
    clock.advance(1);
    timers.fireAll();
    await offline.idle();
    expect(fsd()).toEqual(['nas2']);
    expect(lines()).toMatch(/FSD shown to nas2's NUT clients by stage first's offline rule/);
    clock.set(out + 9_000);
    offline.ownReadings(reading('OB', out));
    timers.fireAll();
    await offline.idle();
    expect(fsd()).toEqual(['nas2', 'winbox']);
    expect(lines().match(/FSD shown to nas2/g)).toHaveLength(1);
    await offline.stop();
  });

  it('without a reading of its own: the last state says battery, so each host with a fallback is shown FSD when it runs out, one without is not', async () => {
    const { state, offline, timers, lines, fsd } = await open({ firstState: false });
    await state.accept(
      await signBridge(coordinator, {
        agentId: AGENT,
        claims: bridgeClaims(1, {}, { status: 'OB', nas2Fallback: 60_000 }),
        now: clock.now(),
      }),
    );
    offline.linkState('closed');
    await offline.idle();
    expect(lines()).toMatch(
      new RegExp(
        `for nas2: shutting down at ${new Date(T0 + 60_000).toISOString()} \\(in 1m\\) by the fallback rule`,
      ),
    );
    clock.advance(59_000);
    timers.fireAll();
    await offline.idle();
    expect(fsd()).toEqual([]);
    clock.advance(1_000);
    timers.fireAll();
    await offline.idle();
    // winbox's stage rule needs on-battery time the bridge never saw itself, and it has no fallback.
    expect(fsd()).toEqual(['nas2']);
    await offline.stop();
  });

  it('polls that change nothing do not write bridge-offline.json again', async () => {
    const { offline, timers } = await open();
    const file = join(dir.path, 'bridge-offline.json');
    const exists = () =>
      access(file).then(
        () => true,
        () => false,
      );
    offline.linkState('closed');
    offline.ownReadings(reading('OB', T0));
    await offline.idle();
    expect(await exists()).toBe(true);
    // Removed behind its back: only a write brings it back.
    await rm(file);
    for (let poll = 0; poll < 3; poll++) {
      clock.advance(1_000);
      offline.ownReadings(reading('OB', T0));
      await offline.idle();
    }
    expect(await exists()).toBe(false);
    clock.advance(1_000);
    timers.fireAll();
    await offline.idle();
    expect(await exists()).toBe(true); // nas2 shown FSD: a change, written
    await offline.stop();
  });

  it('killed mid-countdown and started again: FSD already shown is shown at once, the next countdown keeps its time', async () => {
    const first = await open();
    first.offline.linkState('closed');
    first.offline.ownReadings(reading('OB', T0));
    await first.offline.idle();
    clock.advance(4_000);
    first.timers.fireAll();
    await first.offline.idle();
    expect(first.fsd()).toEqual(['nas2']);
    await first.offline.stop();

    clock.advance(1_000);
    const second = await open({ firstState: false });
    expect(second.lines()).toMatch(/bridge: resuming on its own since/);
    expect(second.fsd()).toEqual(['nas2']);
    second.offline.ownReadings(reading('OB', T0));
    await second.offline.idle();
    expect(second.timers.pending()).toEqual([4_000]);
    clock.advance(4_000);
    second.timers.fireAll();
    await second.offline.idle();
    expect(second.fsd()).toEqual(['nas2', 'winbox']);
    expect(second.lines()).not.toMatch(/FSD shown to nas2/);
    await second.offline.stop();

    // After the bridge machine rebooted, the FSD of that outage is not shown again.
    const rebooted = await open({ firstState: false, bootTime: clock.now() + 1 });
    expect(rebooted.fsd()).toEqual([]);
    expect(rebooted.offline.onItsOwn()).toBe(false);
    await rebooted.offline.stop();
  });

  it('the lease returns: a report per host goes out; FSD stays shown until the coordinator recorded it, then its state decides', async () => {
    const { state, offline, timers, fsd } = await open();
    offline.linkState('closed');
    offline.ownReadings(reading('OB', T0));
    await offline.idle();
    clock.advance(4_000);
    timers.fireAll();
    await offline.idle();
    clock.advance(1_000);
    offline.left('nas2', 'disconnect');
    offline.linkState('open');
    offline.lease(await lease(1));
    await offline.idle();
    expect(offline.onItsOwn()).toBe(false);
    const reports = sent.filter((message) => message.type === 'offline-report');
    expect(reports.map((report) => report.host)).toEqual(['nas2', 'winbox']);
    const nas2 = reports[0];
    expect(nas2).toMatchObject({
      id: `offline:${T0}:nas2`,
      lostAt: T0,
      // The shutdown started when its client left, not when FSD was shown.
      shutdown: { at: T0 + 5_000, rule: 'offline', stage: 'first' },
    });
    expect(nas2?.steps.map((step) => [step.what, step.detail])).toEqual([
      ['lost', 'lost the connection to the coordinator'],
      ['saw', "nas-ups OB (bridge's reading)"],
      ['countdown', expect.stringMatching(/by stage first's offline rule/)],
      ['shutdown', "FSD shown to its NUT clients by stage first's offline rule"],
      ['saw', 'its NUT client left after FSD (disconnect): shutdown started'],
      ['back', 'a valid lease again: the coordinator decides'],
    ]);
    expect(reports[1]?.shutdown).toBeUndefined();
    // A state before the coordinator recorded the report does not clear it.
    await state.accept(await stateToken(2));
    expect(fsd()).toEqual(['nas2']);
    // The coordinator recorded it: its run shows nas2 FSD (down, offline) until it restores.
    await state.accept(await stateToken(3, { nas2: true }));
    offline.offlineAck(`offline:${T0}:nas2`);
    offline.offlineAck(`offline:${T0}:winbox`);
    await offline.idle();
    expect(fsd()).toEqual(['nas2']);
    await state.accept(await stateToken(4));
    expect(fsd()).toEqual([]);
    expect(JSON.parse(await readFile(join(dir.path, 'bridge-offline.json'), 'utf8'))).toEqual({
      version: 1,
      reports: [],
      shown: {},
    });
    await offline.stop();
  });

  it('the lease returns before the client left: the report says FSD was shown, not that the host is down; the coordinator’s order confirms', async () => {
    const { state, offline, timers } = await open();
    // winbox is shown FSD by the coordinator's run before the link goes.
    await state.accept(await stateToken(2, { winbox: true }));
    offline.linkState('closed');
    offline.ownReadings(reading('OB', T0));
    await offline.idle();
    clock.advance(9_000);
    timers.fireAll();
    await offline.idle();
    expect(state.fsd('nas2')).toBe(true);
    // A client leaving a host the coordinator showed FSD is the coordinator's order's to confirm.
    offline.left('winbox', 'logout');
    offline.linkState('open');
    offline.lease(await lease(1));
    // nas2's client leaves only now, with the coordinator deciding again.
    offline.left('nas2', 'logout');
    await offline.idle();
    const reports = sent.filter((message) => message.type === 'offline-report');
    expect(reports.map((report) => [report.host, report.shutdown])).toEqual([
      ['nas2', undefined],
      ['winbox', undefined],
    ]);
    expect(reports[0]?.steps.map((step) => step.what)).toEqual([
      'lost',
      'saw',
      'countdown',
      'shutdown',
      'back',
    ]);
    expect(reports[1]?.steps.map((step) => [step.what, step.detail]).slice(3)).toEqual([
      ['shutdown', 'already shown FSD by the coordinator'],
      ['back', 'a valid lease again: the coordinator decides'],
    ]);
    await offline.stop();
  });

  it('recorded while no run shows it (power back by then): FSD is cleared at the acknowledgement', async () => {
    const { offline, timers, fsd } = await open();
    offline.linkState('closed');
    offline.ownReadings(reading('OB', T0));
    await offline.idle();
    clock.advance(4_000);
    timers.fireAll();
    offline.linkState('open');
    offline.lease(await lease(1));
    await offline.idle();
    expect(fsd()).toEqual(['nas2']);
    offline.offlineAck(`offline:${T0}:nas2`);
    await offline.idle();
    expect(fsd()).toEqual([]);
    await offline.stop();
  });
});
