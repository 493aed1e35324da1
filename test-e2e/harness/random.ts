/**
 * Seeded randomness for tests and benchmarks, so a failing random run can be replayed.
 */

/** mulberry32: a tiny, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeededRandom {
  seed: number;
  /** Float in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  /** `k` distinct elements of `items` (all when k >= length), in random order. */
  sample<T>(items: readonly T[], k: number): T[];
}

/**
 * A seeded source whose seed is `process.env[envVar]` when set (to replay a run), else random.
 * Print `seed` so a failure can be reproduced.
 */
export function seededRandom(envVar: string): SeededRandom {
  const fromEnv = process.env[envVar];
  const seed =
    fromEnv !== undefined && fromEnv !== '' && Number.isInteger(Number(fromEnv))
      ? Number(fromEnv) >>> 0
      : Math.floor(Math.random() * 2 ** 32);
  if (fromEnv && String(seed) !== fromEnv.trim())
    throw new Error(`${envVar}=${fromEnv} is not a 32-bit unsigned integer`);
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    int,
    sample<T>(items: readonly T[], k: number): T[] {
      const a = [...items];
      for (let i = a.length - 1; i > 0; i--) {
        const j = int(0, i);
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a.slice(0, Math.max(0, k));
    },
  };
}
