import { describe, expect, it } from 'vitest';
import {
  describeReplayStoreContract,
  describeThrottleStoreContract,
} from '../../test/helpers/guard-store-contract.js';
import { createAuthThrottle, createMemoryThrottleStore, type ThrottleStore } from './auth-throttle.js';
import { createMemoryReplayStore } from './signing.js';

describeReplayStoreContract('memory', async (options) => {
  const store = createMemoryReplayStore(options);
  return { claim: (id, expiresAt, now) => store.claim(id, expiresAt, now), size: () => store.size };
});

describeThrottleStoreContract('memory', async () => createMemoryThrottleStore());

describe('createMemoryThrottleStore', () => {
  it('tracks maxKeys keys at most, forgetting the oldest first', () => {
    const store = createMemoryThrottleStore({ maxKeys: 2 });
    store.record('a', 1, 10);
    store.record('b', 2, 10);
    store.record('c', 3, 10);
    expect(store.recent('a', 0)).toEqual([]);
    expect(store.recent('b', 0)).toEqual([2]);
    expect(store.recent('c', 0)).toEqual([3]);
  });
});

describe('createAuthThrottle', () => {
  const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

  function throttleAt(store: ThrottleStore = createMemoryThrottleStore()) {
    const clock = { at: NOW, now: () => clock.at };
    return { clock, throttle: createAuthThrottle({ clock, limit: 3, windowMs: 60_000, store }) };
  }

  it('blocks an address after `limit` failures within the window, until the first of them leaves it', () => {
    const { clock, throttle } = throttleAt();
    for (let i = 0; i < 3; i++) {
      expect(throttle.blockedFor('10.0.0.1')).toBeUndefined();
      throttle.failed('10.0.0.1');
      clock.at += 1_000;
    }
    expect(throttle.blockedFor('10.0.0.1')).toBe(57_000);
    expect(throttle.blockedFor('10.0.0.2')).toBeUndefined();
    clock.at = NOW + 60_000;
    expect(throttle.blockedFor('10.0.0.1')).toBeUndefined();
  });

  it('forgets an address on success', () => {
    const { throttle } = throttleAt();
    throttle.failed('10.0.0.1');
    throttle.failed('10.0.0.1');
    throttle.succeeded('10.0.0.1');
    throttle.failed('10.0.0.1');
    throttle.failed('10.0.0.1');
    expect(throttle.blockedFor('10.0.0.1')).toBeUndefined();
  });

  it('keeps what it counts in its store: a new throttle on the same store still blocks', () => {
    const store = createMemoryThrottleStore();
    const first = throttleAt(store).throttle;
    for (let i = 0; i < 3; i++) first.failed('10.0.0.1');
    expect(throttleAt(store).throttle.blockedFor('10.0.0.1')).toBe(60_000);
  });
});
