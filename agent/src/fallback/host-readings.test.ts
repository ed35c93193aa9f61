import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { type FakeUpsd, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import type { HostUpsdConfig } from '../config.js';
import { createAsyncQueue, createTempDir } from '../test-support.js';
import { startHostReadings } from './host-readings.js';
import type { OwnReading } from './own-reading.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');

const varList = (status: string) =>
  ['BEGIN LIST VAR ups', `VAR ups ups.status "${status}"`, 'END LIST VAR ups', ''].join('\n');

describe('a host reading its UPS itself', () => {
  let dir: { path: string; remove(): Promise<void> };
  let upsd: FakeUpsd;
  let status = 'OB DISCHRG';

  beforeEach(async () => {
    dir = await createTempDir('host-readings');
    status = 'OB DISCHRG';
    upsd = await startFakeUpsd((line, connection) =>
      connection.write(line === 'LIST VAR ups' ? varList(status) : 'OK\n'),
    );
  });
  afterEach(async () => {
    await upsd.close();
    await dir.remove();
  });

  async function open(now: number) {
    const clock = createManualClock(now);
    const readings = createAsyncQueue<OwnReading>();
    const config: HostUpsdConfig = {
      id: 'nas-ups',
      upsd: { host: upsd.host, port: upsd.port },
      name: 'ups',
      pollInterval: 20,
      deadTime: 15_000,
    };
    const host = await startHostReadings({
      upsd: [config],
      file: join(dir.path, 'own-readings.json'),
      bootTime: T0 - 60_000,
      clock,
      logger: createMemoryLogger(),
      onReading: (reading) => readings.push(reading),
    });
    return { host, readings };
  }

  it('keeps counting on battery from when it first saw OB, across a restart; mains ends it', async () => {
    const first = await open(T0);
    expect((await first.readings.next()).batterySince).toBe(T0);
    await first.host.stop();

    const second = await open(T0 + 5_000);
    expect(await second.readings.next()).toMatchObject({
      fresh: true,
      batterySince: T0,
      status: ['OB', 'DISCHRG'],
    });
    status = 'OL';
    let reading = await second.readings.next();
    while (reading.status?.[0] !== 'OL') reading = await second.readings.next();
    expect(reading.batterySince).toBeUndefined();
    await second.host.stop();

    const third = await open(T0 + 9_000);
    status = 'OB';
    expect((await third.readings.next()).batterySince).toBe(T0 + 9_000);
    await third.host.stop();
  });
});
