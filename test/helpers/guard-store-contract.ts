/**
 * What a replay store and a throttle store must do (shared/src/signing.ts, shared/src/auth-throttle.ts),
 * as one suite run against each implementation: in memory (shared/src/guard-stores.test.ts) and in a
 * Durable Object's SQLite storage inside workerd (test/edge/durable-guards.test.ts). Calls are
 * awaited, so a store reached through a request works too.
 */
import { describe, expect, it } from 'vitest';

type Awaitable<T> = T | Promise<T>;

export interface ReplayStoreUnderTest {
  claim(id: string, expiresAt: number, now: number): Awaitable<'claimed' | 'seen' | 'full'>;
  size(): Awaitable<number>;
}

export interface ThrottleStoreUnderTest {
  recent(key: string, since: number): Awaitable<number[]>;
  record(key: string, at: number, keep: number): Awaitable<void>;
  forget(key: string): Awaitable<void>;
}

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

export function describeReplayStoreContract(
  name: string,
  create: (options: { maxEntries: number }) => Promise<ReplayStoreUnderTest>,
): void {
  describe(`a replay store [${name}]`, () => {
    it('claims an id once, refuses it while it lives, and takes it again once expired', async () => {
      const store = await create({ maxEntries: 100 });
      expect(await store.claim('a', NOW + 60_000, NOW)).toBe('claimed');
      expect(await store.claim('a', NOW + 60_000, NOW + 59_999)).toBe('seen');
      expect(await store.claim('b', NOW + 60_000, NOW)).toBe('claimed');
      expect(await store.claim('a', NOW + 120_000, NOW + 60_000)).toBe('claimed');
      expect(await store.claim('a', NOW + 120_000, NOW + 60_001)).toBe('seen');
    });

    it('is bounded: refuses new ids while full of live ones (still refusing a replay), takes them once some expire', async () => {
      const store = await create({ maxEntries: 3 });
      for (let i = 0; i < 3; i++) expect(await store.claim(`id-${i}`, NOW + 60_000 + i, NOW)).toBe('claimed');
      expect(await store.claim('id-3', NOW + 60_000, NOW + 10)).toBe('full');
      expect(await store.claim('id-0', NOW + 60_000, NOW + 10)).toBe('seen');
      expect(await store.size()).toBe(3);
      expect(await store.claim('id-4', NOW + 120_000, NOW + 60_000)).toBe('claimed');
      expect(await store.size()).toBeLessThanOrEqual(3);
      expect(await store.claim('id-2', NOW + 120_000, NOW + 60_001)).toBe('seen');
    });
  });
}

export function describeThrottleStoreContract(
  name: string,
  create: () => Promise<ThrottleStoreUnderTest>,
): void {
  describe(`a throttle store [${name}]`, () => {
    it('keeps the newest failures of each key, later than asked, oldest first', async () => {
      const store = await create();
      for (let i = 0; i < 5; i++) await store.record('10.0.0.1', NOW + i * 1_000, 3);
      await store.record('10.0.0.2', NOW + 10_000, 3);
      expect(await store.recent('10.0.0.1', NOW - 60_000)).toEqual([NOW + 2_000, NOW + 3_000, NOW + 4_000]);
      expect(await store.recent('10.0.0.1', NOW + 3_000)).toEqual([NOW + 4_000]);
      expect(await store.recent('10.0.0.2', NOW + 3_000)).toEqual([NOW + 10_000]);
      expect(await store.recent('10.0.0.9', NOW)).toEqual([]);
    });

    it('forgets a key without touching the others', async () => {
      const store = await create();
      await store.record('a', NOW, 10);
      await store.record('b', NOW, 10);
      await store.forget('a');
      expect(await store.recent('a', NOW - 1)).toEqual([]);
      expect(await store.recent('b', NOW - 1)).toEqual([NOW]);
    });
  });
}
