export interface BackoffOptions {
  /** First delay, ms. */
  readonly initial: number;
  /** Upper bound, ms. */
  readonly max: number;
  /** Growth per attempt. */
  readonly factor?: number;
}

export const defaultBackoff: BackoffOptions = { initial: 500, max: 30_000, factor: 2 };

/**
 * Capped exponential backoff with "full jitter": the delay is uniform in [cap/2, cap], where
 * cap = min(max, initial * factor^attempt). Half the cap is kept so a fleet that lost its coordinator
 * neither reconnects in lock-step nor hammers it at once. `random` is injected (0 <= r < 1).
 */
export function nextDelay(
  attempt: number,
  random: () => number = Math.random,
  options = defaultBackoff,
): number {
  const factor = options.factor ?? 2;
  const cap = Math.min(options.max, options.initial * factor ** Math.max(0, attempt));
  return Math.round(cap / 2 + random() * (cap / 2));
}
