import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../shared/src/clock.js';
import { DEFAULT_RETENTION_MS, isFinished, openExecutedOrders } from './executed-orders.js';
import { createTempDir } from './test-support.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');

describe('executed order store', () => {
  let dir: { path: string; remove(): Promise<void> };
  let file: string;
  beforeEach(async () => {
    dir = await createTempDir('executed');
    file = join(dir.path, 'executed-orders.json');
  });
  afterEach(async () => dir.remove());

  it('survives a reopen: a recorded id is still known, with its outcome', async () => {
    const clock = createManualClock(T0);
    const store = await openExecutedOrders(file, { clock });
    expect(store.has('order-1')).toBe(false);
    await store.record('order-1', { at: T0, expiresAt: T0 + 300_000 });
    await store.complete('order-1', 'succeeded');

    const reopened = await openExecutedOrders(file, { clock });
    expect(reopened.has('order-1')).toBe(true);
    expect(reopened.get('order-1')).toMatchObject({ at: T0, expiresAt: T0 + 300_000, outcome: 'succeeded' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("keeps an order's intermediate `started` across a reopen; only the final outcomes count as finished", async () => {
    const clock = createManualClock(T0);
    const store = await openExecutedOrders(file, { clock });
    await store.record('order-3', { at: T0, expiresAt: T0 + 300_000 });
    await store.complete('order-3', 'started');
    expect((await openExecutedOrders(file, { clock })).get('order-3')?.outcome).toBe('started');
    expect(
      (['accepted', 'started', 'drill', 'succeeded', 'failed'] as const).filter((outcome) =>
        isFinished(outcome),
      ),
    ).toEqual(['drill', 'succeeded', 'failed']);
  });

  it('is on disk as soon as record() resolves', async () => {
    const store = await openExecutedOrders(file, { clock: createManualClock(T0) });
    await store.record('order-2', { at: T0, expiresAt: T0 + 1_000, outcome: 'drill' });
    const onDisk = JSON.parse(await readFile(file, 'utf8'));
    expect(onDisk.orders['order-2'].outcome).toBe('drill');
  });

  it('prunes entries long past their expiry so the file stays bounded', async () => {
    const clock = createManualClock(T0);
    const store = await openExecutedOrders(file, { clock });
    await store.record('old', { at: T0, expiresAt: T0 + 60_000 });
    clock.advance(DEFAULT_RETENTION_MS + 120_000);
    await store.record('new', { at: clock.now(), expiresAt: clock.now() + 60_000 });
    expect(store.has('old')).toBe(false);
    expect(store.size).toBe(1);
    expect((await openExecutedOrders(file, { clock })).has('old')).toBe(false);
  });

  it('keeps entries that expired recently', async () => {
    const clock = createManualClock(T0);
    const store = await openExecutedOrders(file, { clock });
    await store.record('recent', { at: T0, expiresAt: T0 + 60_000 });
    clock.advance(86_400_000);
    await store.record('other', { at: clock.now(), expiresAt: clock.now() + 60_000 });
    expect(store.has('recent')).toBe(true);
  });

  it('refuses a file it did not write instead of forgetting what ran', async () => {
    await writeFile(file, '{"orders": 3}');
    await expect(openExecutedOrders(file, { clock: createManualClock(T0) })).rejects.toThrow(
      /executed-orders\.json is not what upsfleet wrote/,
    );
  });
});
