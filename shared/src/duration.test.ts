import { describe, expect, it } from 'vitest';
import { formatDuration, isDuration, parseDuration } from './duration.js';
import { AppError } from './errors.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['1h30m15s', 5_415_000],
    ['0.5s', 500],
    ['0s', 0],
    [' 90s ', 90_000],
  ])('%j → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('reads "ms" as milliseconds, not minutes followed by seconds', () => {
    expect(parseDuration('5ms')).toBe(5);
    expect(parseDuration('5m5s')).toBe(305_000);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['a bare number', '90'],
    ['a space before the unit', '5 m'],
    ['a negative value', '-1s'],
    ['an unknown unit', '1x'],
    ['a unit alone', 's'],
    ['a trailing bare number', '1m30'],
    ['trailing garbage', '5m!'],
    ['a leading dot', '.5s'],
    ['an exponent', '1e3ms'],
    ['an uppercase unit', '5M'],
  ])('refuses %s (%j)', (_name, text) => {
    expect(() => parseDuration(text)).toThrow(AppError);
    expect(isDuration(text)).toBe(false);
  });

  it('quotes the input and shows the expected form in its message', () => {
    expect(() => parseDuration('5 minutes')).toThrow(/"5 minutes".*90s/);
  });
});

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [1_500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [86_400_000 + 60_000, '1d1m'],
  ])('%i → %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([250, 1_500, 90_000, 300_000, 3_600_000, 5_415_000, 172_800_000])(
    'parseDuration(formatDuration(%i)) gives it back',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    },
  );
});
