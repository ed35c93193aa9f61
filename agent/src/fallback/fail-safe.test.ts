import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { BRIEFING_TTL_MS, randomId, signBriefing, signOrder } from '../../../shared/src/tokens.js';
import type { HostConfig } from '../config.js';
import { type ExecutedOrderStore, openExecutedOrders } from '../executed-orders.js';
import { createShutdownAbility } from '../orders/agent-orders.js';
import type { RunCommand } from '../shutdown-runner.js';
import { createTempDir } from '../test-support.js';
import { type FailSafe, openFailSafe, type Schedule } from './fail-safe.js';
import { createFallbackShutdown } from './fallback-shutdown.js';

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
): BriefingClaims {
  return {
    kind: 'briefing',
    version,
    feeds: [{ ups: 'nas-ups', power, dead: false, observedAt: T0 }],
    minSupplies: 1,
    fallback: after === null ? null : { after },
    offline: [],
  };
}

/** Timers a test fires by hand. */
function manualTimers() {
  const timers: { ms: number; fn: () => void; done: boolean }[] = [];
  const schedule: Schedule = (ms, fn) => {
    const timer = { ms, fn, done: false };
    timers.push(timer);
    return () => {
      timer.done = true;
    };
  };
  return {
    schedule,
    pending: () => timers.filter((timer) => !timer.done).map((timer) => timer.ms),
    fireAll() {
      for (const timer of timers.filter((each) => !each.done)) {
        timer.done = true;
        timer.fn();
      }
    },
  };
}

describe('fail-safe', () => {
  let dir: { path: string; remove(): Promise<void> };
  let coordinator: SigningKeyPair;
  let clock: ReturnType<typeof createManualClock>;
  let ran: (readonly string[])[];
  const run: RunCommand = async (argv) => {
    ran.push(argv);
    return { exitCode: 0, signal: null, output: '', timedOut: false };
  };

  beforeEach(async () => {
    dir = await createTempDir('fail-safe');
    coordinator = (await generateSigningKey()).keyPair;
    clock = createManualClock(T0);
    ran = [];
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

  /** A fail-safe as runAgent builds it, over the state files in `dir`. */
  async function open(options: { bootTime?: number } = {}) {
    const logger = createMemoryLogger();
    const timers = manualTimers();
    const executed: ExecutedOrderStore = await openExecutedOrders(join(dir.path, 'executed-orders.json'), {
      clock,
    });
    const failSafe: FailSafe = await openFailSafe({
      agentId: AGENT,
      coordinatorKey: coordinator.publicKey,
      clockToleranceMs: 30_000,
      file: briefingFile(),
      executed,
      runShutdown: createFallbackShutdown({
        ability: createShutdownAbility(host, { run }, logger),
        executed,
        clock,
        logger,
      }),
      localAfter: 180_000,
      bootTime: options.bootTime ?? T0 - 3_600_000,
      clock,
      logger,
      schedule: timers.schedule,
    });
    const lines = () => logger.lines().join('\n');
    return { failSafe, timers, executed, lines };
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

    // None of them counts: losing the coordinator now knows nothing of the power.
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(lines()).toMatch(
      /no briefing from it at hand: the power state is unknown, so no fallback countdown/,
    );
    expect(lines()).toMatch(/the local fallback of 3m needs a known on-battery state/);

    // A valid one is taken; an older or equal version after it is ignored.
    failSafe.briefing(await sign(claims(20, 'online')));
    failSafe.briefing(await sign(claims(19, 'battery')));
    failSafe.briefing(await sign(claims(20, 'battery')));
    await failSafe.idle();
    expect(lines()).toMatch(/briefing 20: nas-ups online \(1 of 1 feeds healthy, 1 needed\)/);
    expect(lines()).toMatch(/briefing 19 ignored: not newer than 20/);
    expect(lines()).toMatch(/briefing 20 ignored: not newer than 20/);
    await failSafe.stop();
  });

  it('lost while on battery: counts down, runs the shutdown once, recorded as fallback:<version>', async () => {
    const { failSafe, timers, executed, lines } = await open();
    failSafe.linkState('open');
    failSafe.briefing(await sign(claims(5, 'battery')));
    await failSafe.idle();
    expect(timers.pending()).toEqual([]);
    // Kept on disk, readable by this agent only.
    expect((await stat(briefingFile())).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(briefingFile(), 'utf8'))).toMatchObject({ briefingVersion: 5 });

    failSafe.linkState('closed');
    failSafe.linkState('connecting');
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(lines()).toMatch(
      /lost the coordinator while on battery: shutting down in 2m by the fallback rule/,
    );
    expect(timers.pending()).toEqual([120_000]);

    clock.advance(120_000);
    timers.fireAll();
    await failSafe.idle();
    expect(ran).toEqual([host.shutdown]);
    expect(executed.get('fallback:5')).toMatchObject({ outcome: 'succeeded' });
    expect(lines()).toMatch(/did not come back within 2m: running the shutdown by the fallback rule/);

    // More failed reconnects change nothing.
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(ran).toHaveLength(1);
    await failSafe.stop();
  });

  it('the coordinator back with power fine cancels the countdown; a later loss on battery starts over', async () => {
    const { failSafe, timers, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'battery')));
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(timers.pending()).toEqual([120_000]);

    clock.advance(30_000);
    failSafe.linkState('open');
    failSafe.briefing(await sign(claims(2, 'online')));
    await failSafe.idle();
    expect(lines()).toMatch(/the coordinator is back and power is fine: fallback countdown cancelled/);
    expect(timers.pending()).toEqual([]);

    failSafe.briefing(await sign(claims(3, 'battery', 60_000)));
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(timers.pending()).toEqual([60_000]);
    failSafe.linkState('open');
    failSafe.briefing(await sign(claims(4, 'battery', 60_000)));
    await failSafe.idle();
    expect(lines()).toMatch(
      /power still in trouble: fallback countdown cancelled, the coordinator is in charge again/,
    );
    expect(timers.pending()).toEqual([]);
    expect(ran).toEqual([]);
    await failSafe.stop();
  });

  it('a restarted agent still knows, and never repeats a fallback shutdown', async () => {
    const first = await open();
    first.failSafe.briefing(await sign(claims(8, 'battery')));
    await first.failSafe.idle();
    await first.failSafe.stop();

    // Restarted while cut off: the cached briefing counts.
    const second = await open();
    expect(second.lines()).toMatch(/cached briefing 8: nas-ups on battery/);
    second.failSafe.linkState('closed');
    await second.failSafe.idle();
    expect(second.timers.pending()).toEqual([120_000]);
    clock.advance(120_000);
    second.timers.fireAll();
    await second.failSafe.idle();
    expect(ran).toHaveLength(1);
    await second.executed.flush();
    await second.failSafe.stop();

    // And again: it already ran for briefing 8.
    const third = await open();
    third.failSafe.linkState('closed');
    await third.failSafe.idle();
    expect(third.lines()).toMatch(/the fallback shutdown for briefing 8 already ran: not repeating it/);
    expect(third.timers.pending()).toEqual([]);
    expect(ran).toHaveLength(1);
    await third.failSafe.stop();
  });

  it('a briefing from before this boot is stale, but still the floor for replays', async () => {
    const first = await open();
    first.failSafe.briefing(await sign(claims(8, 'battery')));
    await first.failSafe.idle();
    await first.failSafe.stop();

    clock.advance(600_000);
    const rebooted = await open({ bootTime: T0 + 300_000 });
    expect(rebooted.lines()).toMatch(
      /cached briefing 8 arrived before this machine booted: not acting on it/,
    );
    rebooted.failSafe.briefing(await sign(claims(7, 'battery')));
    rebooted.failSafe.linkState('closed');
    await rebooted.failSafe.idle();
    expect(rebooted.lines()).toMatch(/briefing 7 ignored: not newer than 8/);
    expect(rebooted.lines()).toMatch(/no briefing from it at hand/);
    expect(rebooted.timers.pending()).toEqual([]);
    await rebooted.failSafe.stop();
  });

  it('a damaged or expired cache is ignored, saying why; the agent runs on', async () => {
    await writeFile(briefingFile(), '{ not json');
    const damaged = await open();
    expect(damaged.lines()).toMatch(/ignoring the cached briefing: .* is not valid JSON/);
    damaged.failSafe.briefing(await sign(claims(3, 'battery')));
    await damaged.failSafe.idle();
    await damaged.failSafe.stop();

    clock.advance(BRIEFING_TTL_MS + 60_000);
    const expired = await open({ bootTime: T0 - 1 });
    expect(expired.lines()).toMatch(/ignoring the cached briefing 3: .*exp/);
    expired.failSafe.linkState('closed');
    await expired.failSafe.idle();
    expect(expired.timers.pending()).toEqual([]);
    await expired.failSafe.stop();
  });

  it('no rule for this host: losing the coordinator on battery starts nothing', async () => {
    const { failSafe, timers, lines } = await open();
    failSafe.briefing(await sign(claims(1, 'battery', null)));
    failSafe.linkState('closed');
    await failSafe.idle();
    expect(lines()).toMatch(/briefing 1: nas-ups on battery .*; no fallback rule/);
    expect(lines()).toMatch(/the policy gives this host no fallback rule: no countdown/);
    expect(timers.pending()).toEqual([]);
    await failSafe.stop();
  });
});
