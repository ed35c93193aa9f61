import { describe, expect, it } from 'vitest';
import { type BackoffOptions, defaultBackoff, nextDelay } from './backoff.js';

const fixed = (value: number) => () => value;

describe('nextDelay', () => {
  it('grows with the attempt until it reaches the maximum', () => {
    const delays = Array.from({ length: 12 }, (_, attempt) => nextDelay(attempt, fixed(0.5)));
    for (let i = 1; i < delays.length; i++) {
      expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] ?? Number.POSITIVE_INFINITY);
    }
    expect(delays[1]).toBeGreaterThan(delays[0] ?? Number.POSITIVE_INFINITY);
    expect(delays.at(-1)).toBe(nextDelay(100, fixed(0.5)));
  });

  it('starts at the initial delay and doubles by default', () => {
    expect(nextDelay(0, fixed(0.999))).toBeLessThanOrEqual(defaultBackoff.initial);
    expect(nextDelay(0, fixed(0))).toBe(defaultBackoff.initial / 2);
    expect(nextDelay(1, fixed(0))).toBe(defaultBackoff.initial);
    expect(nextDelay(2, fixed(0))).toBe(defaultBackoff.initial * 2);
  });

  it.each([0, 1, 5, 10, 50, 1_000, 10_000])('never exceeds the maximum (attempt %i)', (attempt) => {
    for (const r of [0, 0.25, 0.5, 0.999, 0.999999]) {
      expect(nextDelay(attempt, fixed(r))).toBeLessThanOrEqual(defaultBackoff.max);
    }
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 20])(
    'stays within [cap/2, cap] for random 0 and 0.999 (attempt %i)',
    (attempt) => {
      const cap = Math.min(defaultBackoff.max, defaultBackoff.initial * 2 ** attempt);
      const low = nextDelay(attempt, fixed(0));
      const high = nextDelay(attempt, fixed(0.999));
      expect(low).toBe(cap / 2);
      expect(high).toBeGreaterThanOrEqual(cap / 2);
      expect(high).toBeLessThanOrEqual(cap);
      expect(high).toBeGreaterThan(cap * 0.99);
    },
  );

  it('uses the injected random, so two agents with different draws reconnect at different times', () => {
    expect(nextDelay(4, fixed(0.1))).not.toBe(nextDelay(4, fixed(0.9)));
  });

  it('calls random once per delay', () => {
    let calls = 0;
    nextDelay(3, () => {
      calls++;
      return 0.5;
    });
    expect(calls).toBe(1);
  });

  it('treats a negative attempt as the first one', () => {
    expect(nextDelay(-3, fixed(0))).toBe(nextDelay(0, fixed(0)));
  });

  it('honours custom options', () => {
    const options: BackoffOptions = { initial: 100, max: 1_000, factor: 3 };
    expect(nextDelay(0, fixed(0), options)).toBe(50);
    expect(nextDelay(1, fixed(0), options)).toBe(150);
    expect(nextDelay(2, fixed(0), options)).toBe(450);
    expect(nextDelay(3, fixed(0), options)).toBe(500);
    expect(nextDelay(3, fixed(0.999), options)).toBeLessThanOrEqual(1_000);
  });

  it('defaults the factor to 2 when omitted', () => {
    const options: BackoffOptions = { initial: 100, max: 10_000 };
    expect(nextDelay(3, fixed(0), options)).toBe(400);
  });
});
