import { AppError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses a duration as written in config and policy files: `90s`, `5m`, `1h`, `250ms`, `1.5h`,
 * or several parts run together (`1m30s`). Returns milliseconds. A bare number is refused: its unit
 * would be a guess.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '') throw new AppError('bad_request', 'empty duration');
  let total = 0;
  let rest = input;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest);
    if (!match?.[1] || !match[2]) {
      throw new AppError('bad_request', `invalid duration "${text}": write it like 90s, 5m, 1h or 250ms`);
    }
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** The inverse, for messages: 90000 → "1m30s", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
