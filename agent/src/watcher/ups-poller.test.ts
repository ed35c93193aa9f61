import { describe, expect, it, onTestFinished } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger, type LogFields } from '../../../shared/src/logger.js';
import { type FakeUpsd, type Responder, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import type { UpsWatchConfig } from '../config.js';
import { createNutSession, type NutSession } from '../nut/session.js';
import { createAsyncQueue } from '../test-support.js';
import type { Reading } from './notify-events.js';
import { startUpsPoller, type UpsPoller } from './ups-poller.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');

const LIST_VAR = 'LIST VAR ups';

/** upsd's answer to `LIST VAR ups` for the given status. */
const varList = (status: string, vars: Record<string, string> = { 'battery.charge': '100' }): string =>
  [
    'BEGIN LIST VAR ups',
    ...Object.entries(vars).map(([name, value]) => `VAR ups ${name} "${value}"`),
    `VAR ups ups.status "${status}"`,
    'END LIST VAR ups',
    '',
  ].join('\n');

function upsConfig(upsd: FakeUpsd, extra: Partial<UpsWatchConfig> = {}): UpsWatchConfig {
  return {
    id: 'rack-a',
    upsd: { host: upsd.host, port: upsd.port },
    name: 'ups',
    pollInterval: 20,
    deadTime: 15_000,
    snapshotInterval: 60_000,
    alertSnapshotInterval: 5_000,
    ...extra,
  };
}

/**
 * Timers (`setTimeout`/`setInterval`) that keep this process alive; unref'd ones are not counted.
 * The count is process-wide, so a timer of someone else's may end meanwhile: a leak shows as more
 * timers after stop() than before start, never fewer.
 */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** A fake upsd, a poller on it with quick reconnects, and its readings in a queue. */
async function setup(respond: Responder, extra: Partial<UpsWatchConfig> = {}) {
  const upsd = await startFakeUpsd(respond);
  const logger = createMemoryLogger();
  const errors = createAsyncQueue<{ message: string; fields: LogFields | undefined }>();
  const readings = createAsyncQueue<Reading>();
  const all: Reading[] = [];
  const sessions: NutSession[] = [];
  const poller: UpsPoller = startUpsPoller({
    ups: upsConfig(upsd, extra),
    clock: createManualClock(T0),
    logger: {
      ...logger,
      error: (message, fields) => {
        logger.error(message, fields);
        errors.push({ message, fields });
      },
    },
    onReading: (reading) => {
      all.push(reading);
      readings.push(reading);
    },
    createSession: (options) => {
      const session = createNutSession({ ...options, backoff: { initial: 10, max: 20 }, random: () => 0 });
      sessions.push(session);
      return session;
    },
  });
  onTestFinished(async () => {
    await poller.stop();
    await upsd.close();
  });
  /** Readings until one matches, returning it and those skipped. */
  const until = async (match: (reading: Reading) => boolean): Promise<Reading[]> => {
    const seen: Reading[] = [];
    for (;;) {
      const reading = await readings.next();
      seen.push(reading);
      if (match(reading)) return seen;
    }
  };
  return { upsd, logger, errors, readings, all, sessions, poller, until };
}

/** A responder that answers LIST VAR through `answer` and OK to everything else. */
const answering =
  (answer: (connection: number) => string): Responder =>
  (line, connection) => {
    connection.write(line === LIST_VAR ? answer(connection.id) : 'OK\n');
  };

/** No unknown reading may say anything about the power state: no status words at all. */
function expectNoPowerClaim(readings: readonly Reading[]): void {
  for (const reading of readings) {
    if (reading.kind === 'unknown') expect(reading).not.toHaveProperty('status');
  }
}

describe('startUpsPoller', () => {
  it('reads the status words and variables', async () => {
    const { readings } = await setup(answering(() => varList('OL CHRG', { 'battery.charge': '97' })));
    expect(await readings.next()).toEqual({
      kind: 'ok',
      status: ['OL', 'CHRG'],
      vars: { 'battery.charge': '97', 'ups.status': 'OL CHRG' },
    });
  });

  it.each([
    ['ERR DATA-STALE', 'data-stale'],
    ['ERR DRIVER-NOT-CONNECTED', 'driver-not-connected'],
    ['ERR UNKNOWN-UPS', 'unknown-ups'],
    ['ERR ACCESS-DENIED', 'access-denied'],
    ['ERR VAR-NOT-SUPPORTED', 'error'],
  ] as const)('upsd answering %s gives an unknown reading (%s), never a power state', async (err, reason) => {
    const { readings, logger, all } = await setup(answering(() => `${err}\n`));
    for (let i = 0; i < 3; i++) {
      const reading = await readings.next();
      expect(reading).toMatchObject({ kind: 'unknown', reason });
    }
    expectNoPowerClaim(all);
    // Explained once, not at every poll.
    const warnings = logger.entries.filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/^UPS rack-a: state unknown/);
    expect(warnings[0]?.fields).toMatchObject({ ups: 'rack-a' });
  });

  it('status WAIT (upsd before the driver reports) gives an unknown reading (wait)', async () => {
    const { readings, all } = await setup(answering(() => varList('WAIT')));
    expect(await readings.next()).toEqual({ kind: 'unknown', reason: 'wait' });
    expectNoPowerClaim(all);
  });

  it('recovers from DATA-STALE to ok and says so once', async () => {
    let stale = true;
    const { readings, logger, until } = await setup(
      answering(() => (stale ? 'ERR DATA-STALE\n' : varList('OB DISCHRG'))),
    );
    expect(await readings.next()).toMatchObject({ kind: 'unknown', reason: 'data-stale' });
    stale = false;
    const seen = await until((r) => r.kind === 'ok');
    expect(seen.at(-1)).toMatchObject({ kind: 'ok', status: ['OB', 'DISCHRG'] });
    expect(logger.entries.filter((e) => e.message === 'UPS rack-a: readable again')).toHaveLength(1);
  });

  it('a connection upsd closes gives connection readings, then ok once upsd accepts again', async () => {
    let down = false;
    const { upsd, readings, until, all, sessions } = await setup((line, connection) => {
      if (down) connection.destroy();
      else connection.write(line === LIST_VAR ? varList('OL') : 'OK\n');
    });
    expect(await readings.next()).toMatchObject({ kind: 'ok', status: ['OL'] });

    down = true;
    const first = await until((r) => r.kind === 'unknown');
    expect(first.at(-1)).toMatchObject({ kind: 'unknown', reason: 'connection' });
    // Polls go on while reconnecting (and while each new connection is dropped again).
    await upsd.connection(2);
    const more = await until((r) => r.kind === 'unknown');
    expect(more.at(-1)).toMatchObject({ kind: 'unknown', reason: 'connection' });

    down = false;
    const back = await until((r) => r.kind === 'ok');
    expect(back.at(-1)).toMatchObject({ kind: 'ok', status: ['OL'] });
    expect(all.filter((r) => r.kind === 'unknown').every((r) => r.reason === 'connection')).toBe(true);
    expectNoPowerClaim(all);
    expect(sessions).toHaveLength(1);
  });

  it('upsd unreachable from the start gives connection readings', async () => {
    // A port that was listening and is closed now: connect is refused.
    const gone = await startFakeUpsd(() => undefined);
    const port = gone.port;
    await gone.close();
    const { readings, all } = await setup(
      answering(() => varList('OL')),
      {
        upsd: { host: '127.0.0.1', port },
      },
    );
    const reading = await readings.next();
    expect(reading).toMatchObject({ kind: 'unknown', reason: 'connection' });
    expect(reading.kind === 'unknown' ? reading.detail : undefined).toMatch(/\S/);
    expectNoPowerClaim(all);
  });

  it('a refused LOGIN is logged as an error naming the UPS, and readings go on', async () => {
    const { upsd, errors, readings, until } = await setup(
      (line, connection) => {
        if (line === 'LOGIN ups') connection.write('ERR ACCESS-DENIED\n');
        else connection.write(line === LIST_VAR ? varList('OL') : 'OK\n');
      },
      { username: 'monsec', password: 'wrong-secret' },
    );
    const error = await errors.next();
    expect(error.message).toMatch(/login to upsd as monsec failed for UPS rack-a/);
    expect(error.message).toMatch(/ACCESS-DENIED/);
    expect(error.message).not.toContain('wrong-secret');
    expect(error.fields).toMatchObject({ ups: 'rack-a' });
    expect(upsd.received.map((r) => r.line)).toContain('PASSWORD "wrong-secret"');

    // Drain what came before the error, then the next readings are still good ones.
    while (readings.pending > 0) await readings.next();
    const after = await until(() => true);
    expect(after).toEqual([expect.objectContaining({ kind: 'ok', status: ['OL'] })]);
    expect((await readings.next()).kind).toBe('ok');
    expect(errors.pending).toBe(0);
  });

  it('stop() closes the session and leaves no timers', async () => {
    const before = liveTimers();
    const { readings, poller, sessions } = await setup(answering(() => varList('OL')));
    await readings.next();
    await poller.stop();
    expect(sessions.map((s) => s.state.kind)).toEqual(['closed']);
    expect(liveTimers()).toBeLessThanOrEqual(before);
  });

  it('stop() during a poll upsd never answers resolves, reports nothing more and leaves no timers', async () => {
    const before = liveTimers();
    const { upsd, poller, all, sessions } = await setup((line, connection) => {
      if (line !== LIST_VAR) connection.write('OK\n');
    });
    await upsd.waitForLine((r) => r.line === LIST_VAR);
    const count = all.length;
    await poller.stop();
    // Our own close is not a failed poll: it must not reach the watcher as a lost connection.
    expect(all.slice(count)).toEqual([]);
    expect(sessions.map((s) => s.state.kind)).toEqual(['closed']);
    expect(liveTimers()).toBeLessThanOrEqual(before);
  });
});
