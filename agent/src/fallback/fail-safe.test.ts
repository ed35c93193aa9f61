import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { AgentMessage, BriefingClaims } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { BRIEFING_TTL_MS, randomId, signBriefing, signLease, signOrder } from '../../../shared/src/tokens.js';
import type { HostConfig } from '../config.js';
import { type ExecutedOrderStore, openExecutedOrders } from '../executed-orders.js';
import { createShutdownAbility } from '../orders/agent-orders.js';
import type { RunCommand } from '../shutdown-runner.js';
import { createTempDir, manualTimers, nasUpsReading } from '../test-support.js';
import { type FailSafe, openFailSafe } from './fail-safe.js';
import { createOwnShutdown } from './fallback-shutdown.js';
import { createShutdownLatch } from './shutdown-latch.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const AGENT = 'agent-web1';
const host: HostConfig = {
  name: 'web1',
  shutdown: ['/bin/recorder', 'down'],
  shutdownTimeout: 60_000,
  clockTolerance: 30_000,
  before: [],
  fallbackAfter: undefined,
};

function claims(
  version: number,
  power: 'online' | 'battery',
  after: number | null = 120_000,
  offline: BriefingClaims['offline'] = [],
): BriefingClaims {
  return {
    kind: 'briefing',
    version,
    feeds: [{ ups: 'nas-ups', power, dead: false, observedAt: T0 }],
    minSupplies: 1,
    fallback: after === null ? null : { after },
    offline,
  };
}

describe('fail-safe: the host on its own', () => {
  let dir: { path: string; remove(): Promise<void> };
  let coordinator: SigningKeyPair;
  let clock: ReturnType<typeof createManualClock>;
  let ran: (readonly string[])[];
  let sent: AgentMessage[];
  const run: RunCommand = async (argv) => {
    ran.push(argv);
    return { exitCode: 0, signal: null, output: '', timedOut: false };
  };

  beforeEach(async () => {
    dir = await createTempDir('fail-safe');
    coordinator = (await generateSigningKey()).keyPair;
    clock = createManualClock(T0);
    ran = [];
    sent = [];
  });
  afterEach(async () => dir.remove());

  const briefingFile = () => join(dir.path, 'briefing.json');
  const sign = (
    body: BriefingClaims,
    options: { key?: SigningKeyPair; agentId?: string; now?: number } = {},
  ) =>
    signBriefing(options.key ?? coordinator, {
      agentId: options.agentId ?? AGENT,
      claims: body,
      now: options.now ?? clock.now(),
    });
  const lease = (seq: number, options: { key?: SigningKeyPair; now?: number } = {}) =>
    signLease(options.key ?? coordinator, seq, options.now ?? clock.now(), 15_000);

  const reading = (status: 'OB' | 'OL', since?: number) => nasUpsReading(status, since, clock.now());

  /** A fail-safe as runAgent builds it, over the state files in `dir`. */
  async function open(options: { bootTime?: number } = {}) {
    const logger = createMemoryLogger();
    const timers = manualTimers();
    const executed: ExecutedOrderStore = await openExecutedOrders(join(dir.path, 'executed-orders.json'), {
      clock,
    });
    const latch = createShutdownLatch();
    const failSafe: FailSafe = await openFailSafe({
      agentId: AGENT,
      coordinatorKey: coordinator.publicKey,
      clockToleranceMs: 30_000,
      file: briefingFile(),
      offlineFile: join(dir.path, 'offline.json'),
      runShutdown: createOwnShutdown({
        ability: createShutdownAbility(host, { run }, logger),
        executed,
        clock,
        logger,
      }),
      latch,
      send: async (message) => {
        sent.push(message);
      },
      bootTime: options.bootTime ?? T0 - 3_600_000,
      clock,
      logger,
      schedule: timers.schedule,
    });
    const lines = () => logger.lines().join('\n');
    return { failSafe, timers, executed, lines, latch };
  }

  it('refuses forged, misaddressed, expired and non-briefing tokens, and older versions', async () => {
    const { failSafe, lines } = await open();
    const stranger = (await generateSigningKey()).keyPair;
    failSafe.briefing(await sign(claims(10, 'battery'), { key: stranger }));
    failSafe.briefing(await sign(claims(11, 'battery'), { agentId: 'agent-db1' }));
    failSafe.briefing(await sign(claims(12, 'battery'), { now: T0 - BRIEFING_TTL_MS - 60_000 }));
    const order = await signOrder(coordinator, {
      orderId: randomId(),
      agentId: AGENT,
      claims: { kind: 'shutdown', runId: 'run-1', stage: 'apps', drill: false },
      now: T0,
      expiresAt: T0 + 60_000,
    });
    failSafe.briefing(order);
    failSafe.briefing('not a token');
    await failSafe.idle();
    expect(lines()).toMatch(/briefing refused: bad_signature/);
    expect(lines()).toMatch(/briefing refused: wrong_audience/);
    expect(lines()).toMatch(/briefing refused: expired/);
    expect(lines().match(/briefing refused: malformed/g)).toHaveLength(2);
    await expect(stat(briefingFile())).rejects.toThrow(/ENOENT/);

    // None of them counts: on its own, it knows no rule.
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(lines()).toMatch(/on its own with no briefing at hand: no rule to follow/);

    // A valid one is taken; an older or equal version after it is ignored.
    failSafe.briefing(await sign(claims(20, 'online')));
    failSafe.briefing(await sign(claims(19, 'battery')));
    failSafe.briefing(await sign(claims(20, 'battery')));
    await failSafe.idle();
    expect(lines()).toMatch(/briefing 20: nas-ups online \(1 of 1 feeds healthy, 1 needed\)/);
    expect(lines()).toMatch(/briefing 19 ignored: not newer than 20/);
    expect(lines()).toMatch(/briefing 20 ignored: not newer than 20/);
    expect(ran).toEqual([]);
    await failSafe.stop();
  });

  it('forged, expired and replayed leases are ignored and logged: they do not end being on its own', async () => {
    const { failSafe, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'online')));
    failSafe.linkState('open');
    failSafe.lease(await lease(5));
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(failSafe.onItsOwn()).toBe(true);
    failSafe.linkState('open');
    const stranger = (await generateSigningKey()).keyPair;
    failSafe.lease(await lease(6, { key: stranger }));
    failSafe.lease(await lease(7, { now: T0 - 600_000 }));
    failSafe.lease(await lease(8));
    failSafe.lease(await lease(8));
    await failSafe.idle();
    expect(lines()).toMatch(/lease refused: bad_signature/);
    expect(lines()).toMatch(/lease refused: expired/);
    expect(lines()).toMatch(/lease 8 ignored: replayed/);
    expect(lines()).toMatch(/a valid lease again after .* the coordinator decides/);
    expect(failSafe.onItsOwn()).toBe(false);
    await failSafe.stop();
  });

  it('no lease within 15 s of the last one: on its own, even with the link open', async () => {
    const { failSafe, timers, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'online')));
    failSafe.linkState('open');
    failSafe.lease(await lease(1));
    await failSafe.idle();
    expect(timers.pending()).toEqual([15_000]);
    clock.advance(15_000);
    timers.fireAll();
    await failSafe.idle();
    expect(lines()).toMatch(/on its own: no valid lease from the coordinator/);
    expect(failSafe.onItsOwn()).toBe(true);
    await failSafe.stop();
  });

  it('a lease timer that fires a millisecond early by the wall clock is armed again, and the host still goes on its own', async () => {
    // Node's timers run on a monotonic clock; Date.now() can trail it by a millisecond. The expiry
    // check once found the lease still valid, did nothing, and never looked again: the host stayed
    // "leased" for good after the coordinator's database stopped.
    const { failSafe, timers, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'online')));
    failSafe.linkState('open');
    failSafe.lease(await lease(1));
    await failSafe.idle();
    clock.advance(14_999);
    timers.fireAll();
    await failSafe.idle();
    expect(failSafe.onItsOwn()).toBe(false);
    expect(timers.pending()).toEqual([1]);
    clock.advance(1);
    timers.fireAll();
    await failSafe.idle();
    expect(lines()).toMatch(/on its own: no valid lease from the coordinator/);
    expect(failSafe.onItsOwn()).toBe(true);
    await failSafe.stop();
  });

  it('the wall clock set back an hour after the last lease: the host still goes on its own 15 s later', async () => {
    // How long it counts on a lease is timed on the monotonic clock; the wall clock only checks
    // the lease's signed times. Timed on the wall clock, it re-armed for the hour NTP took back.
    const { failSafe, timers, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'online')));
    failSafe.linkState('open');
    failSafe.lease(await lease(1));
    await failSafe.idle();
    clock.set(T0 - 3_600_000);
    clock.advance(15_000);
    timers.fireAll();
    await failSafe.idle();
    expect(lines()).toMatch(/on its own: no valid lease from the coordinator/);
    expect(failSafe.onItsOwn()).toBe(true);

    // A lease signed by the (now agreeing) coordinator's clock counts again.
    failSafe.lease(await lease(2));
    await failSafe.idle();
    expect(failSafe.onItsOwn()).toBe(false);
    expect(timers.pending()).toEqual([15_000]);
    await failSafe.stop();
  });

  it('stopped while an expired lease check is queued: no episode is stored, the next start is not on its own', async () => {
    const first = await open();
    first.failSafe.briefing(await sign(claims(1, 'online')));
    first.failSafe.linkState('open');
    first.failSafe.lease(await lease(1));
    await first.failSafe.idle();
    clock.advance(15_000);
    first.timers.fireAll(); // its check is queued, not run yet
    await first.failSafe.stop();
    expect(first.failSafe.onItsOwn()).toBe(false);
    expect(first.timers.pending()).toEqual([]);
    expect(first.lines()).not.toMatch(/on its own: no valid lease/);

    const second = await open();
    await second.failSafe.idle();
    expect(second.lines()).not.toMatch(/resuming on its own/);
    expect(second.failSafe.onItsOwn()).toBe(false);
    await second.failSafe.stop();
  });

  it('on its own, an unchanged own reading every second does not rewrite offline.json', async () => {
    const rule = { stage: 'apps', trigger: { onBattery: 600_000 }, wait: 0, waitBound: 0 };
    const { failSafe } = await open();
    failSafe.briefing(await sign(claims(1, 'online', null, [rule])));
    failSafe.ownReadings(reading('OB', T0));
    failSafe.linkState('closed');
    await failSafe.idle();
    const offlineFile = join(dir.path, 'offline.json');
    expect(JSON.parse(await readFile(offlineFile, 'utf8')).episode.lostAt).toBe(T0);
    await rm(offlineFile);
    for (let second = 0; second < 3; second += 1) {
      clock.advance(1_000);
      failSafe.ownReadings(reading('OB', T0));
      await failSafe.idle();
    }
    await expect(stat(offlineFile)).rejects.toThrow(/ENOENT/);

    // Something changes: it is written.
    failSafe.ownReadings(reading('OL'));
    await failSafe.idle();
    const steps: { what: string }[] = JSON.parse(await readFile(offlineFile, 'utf8')).episode.steps;
    expect(steps.map((step) => step.what)).toEqual(expect.arrayContaining(['saw', 'cancelled']));
    await failSafe.stop();
  });

  it('its own reading: the stage rule counts from when it saw OB; killed and restarted, the countdown keeps its time; once; reported when the lease returns', async () => {
    const rule = { stage: 'apps', trigger: { onBattery: 60_000 }, wait: 0, waitBound: 0 };
    const first = await open();
    first.failSafe.briefing(await sign(claims(1, 'online', 600_000, [rule])));
    first.failSafe.ownReadings(reading('OB', T0 - 20_000));
    first.failSafe.linkState('closed');
    await first.failSafe.idle();
    expect(first.lines()).toMatch(
      new RegExp(
        `shutting down at ${new Date(T0 + 40_000).toISOString()} \\(in 40s\\) by stage apps's offline rule`,
      ),
    );
    await first.failSafe.stop();

    clock.advance(10_000);
    const second = await open();
    expect(second.lines()).toMatch(/resuming on its own since/);
    second.failSafe.ownReadings(reading('OB', T0 - 20_000));
    await second.failSafe.idle();
    expect(second.timers.pending()).toContain(30_000);
    clock.advance(30_000);
    second.timers.fireAll();
    await second.failSafe.idle();
    expect(ran).toEqual([host.shutdown]);
    expect(second.latch.ownReason()).toMatch(/shut down on its own/);

    // The lease returns: the report goes out, and is kept until acknowledged.
    second.failSafe.linkState('open');
    second.failSafe.lease(await lease(1));
    await second.failSafe.idle();
    const report = sent.find((message) => message.type === 'offline-report');
    expect(report).toMatchObject({
      id: `offline:${T0}`,
      lostAt: T0,
      shutdown: { rule: 'offline', stage: 'apps' },
    });
    expect(report?.type === 'offline-report' ? report.steps.map((step) => step.what) : []).toEqual(
      expect.arrayContaining(['lost', 'saw', 'countdown', 'shutdown', 'back']),
    );
    second.failSafe.offlineAck(`offline:${T0}`);
    await second.failSafe.idle();
    expect(JSON.parse(await readFile(join(dir.path, 'offline.json'), 'utf8'))).toEqual({
      version: 1,
      reports: [],
    });
    await second.failSafe.stop();
  });

  it('mains in its own reading: never, whatever the briefing says', async () => {
    const { failSafe, timers, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'battery', 0)));
    failSafe.ownReadings(reading('OL'));
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(lines()).toMatch(/on its own: mains: nas-ups online \(own reading\)/);
    expect(timers.pending()).toEqual([]);
    expect(ran).toEqual([]);
    await failSafe.stop();
  });

  it("an order's shutdown already ran: the host's own decision does not run it again", async () => {
    const { failSafe, latch, lines } = await open();
    latch.markOrder("the coordinator's order o-1 already ran the shutdown");
    failSafe.briefing(await sign(claims(1, 'battery', 0)));
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(lines()).toMatch(/the rule says shut down, but the coordinator's order o-1 already ran/);
    expect(ran).toEqual([]);
    await failSafe.stop();
  });

  it('an episode from before this boot is over: only its report is left to send', async () => {
    const first = await open();
    first.failSafe.briefing(await sign(claims(1, 'battery', 0)));
    first.failSafe.linkState('closed');
    await first.failSafe.idle();
    expect(ran).toHaveLength(1);
    await first.failSafe.stop();

    clock.advance(600_000);
    const rebooted = await open({ bootTime: T0 + 300_000 });
    expect(rebooted.lines()).toMatch(/cached briefing 1 arrived before this machine booted/);
    expect(rebooted.failSafe.onItsOwn()).toBe(false);
    expect(rebooted.latch.ownReason()).toBeUndefined();
    rebooted.failSafe.linkState('open');
    rebooted.failSafe.lease(await lease(1));
    await rebooted.failSafe.idle();
    expect(sent.filter((message) => message.type === 'offline-report')).toHaveLength(1);
    await rebooted.failSafe.stop();
  });

  it('a damaged cache is ignored, saying why; the agent runs on', async () => {
    await writeFile(briefingFile(), '{ not json');
    const damaged = await open();
    expect(damaged.lines()).toMatch(/ignoring the cached briefing: .* is not valid JSON/);
    await damaged.failSafe.stop();
  });
});
