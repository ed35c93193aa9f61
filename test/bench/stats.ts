/**
 * Median and spread of repeated trials. With fewer than ten samples p10/p90 would only be the
 * extremes under another name, so the spread is then reported as min–max, and said so.
 */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly low: number;
  readonly high: number;
  /** How `low`–`high` was taken: 'p10–p90' or 'min–max'. */
  readonly spread: 'p10–p90' | 'min–max';
}

/** Linear interpolation between closest ranks; `sorted` ascending and not empty. */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = (sorted.length - 1) * p;
  const below = Math.floor(rank);
  const lower = sorted[below] ?? Number.NaN;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)] ?? lower;
  return lower + (upper - lower) * (rank - below);
}

export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const wide = sorted.length >= 10;
  return {
    n: sorted.length,
    median: percentile(sorted, 0.5),
    low: wide ? percentile(sorted, 0.1) : (sorted[0] ?? Number.NaN),
    high: wide ? percentile(sorted, 0.9) : (sorted.at(-1) ?? Number.NaN),
    spread: wide ? 'p10–p90' : 'min–max',
  };
}
