/**
 * Reproducible randomness for fault and fuzz suites: a seed taken from an environment variable or
 * made up, always printed, so that a failing schedule can be replayed with `VAR=<seed>`.
 */

/** mulberry32: a tiny, good-enough PRNG; returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The seed in `process.env[variable]`, or `fallback` (a fixed number, or 'random' for a fresh one
 * each run). Printed with the way to replay it.
 */
export function chooseSeed(variable: string, what: string, fallback: number | 'random'): number {
  const given = process.env[variable];
  const seed =
    given !== undefined && given !== ''
      ? Number(given)
      : fallback === 'random'
        ? Math.floor(Math.random() * 2 ** 31)
        : fallback;
  if (!Number.isSafeInteger(seed)) throw new Error(`${variable}=${given} is not an integer seed`);
  console.info(`${what}: seed ${seed} (replay with ${variable}=${seed})`);
  return seed;
}

/** A positive integer from the environment (a count of iterations, flips, runs), or `fallback`. */
export function countFromEnv(variable: string, fallback: number): number {
  const given = process.env[variable];
  if (given === undefined || given === '') return fallback;
  const count = Number(given);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`${variable}=${given} is not a positive integer`);
  return count;
}
