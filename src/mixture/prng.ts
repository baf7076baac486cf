/**
 * Seeded pseudo-random numbers for the sampling plan (SPEC §6: every random choice derives from
 * the config seed). 32-bit integer math only (Math.imul, >>>), no BigInt, so results are identical
 * in every JS engine. SplitMix32 (the 32-bit variant of Steele et al.'s SplitMix, finalizer from
 * MurmurHash3 fmix32) both derives stream seeds and generates the stream.
 */

/** MurmurHash3's 32-bit finalizer: a bijective avalanche mix of a u32. */
export function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A u32 seed derived from a seed and any number of u32 labels (e.g. source index, epoch). */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = mix32(seed >>> 0);
  for (const label of labels) h = mix32((h ^ mix32((label >>> 0) + 0x9e3779b9)) + 0x7f4a7c15);
  return h;
}

export interface SeededRandom {
  /** Next u32. */
  nextU32(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling), n <= 2^32. */
  below(n: number): number;
}

export function splitMix32(seed: number): SeededRandom {
  let state = seed >>> 0;
  const nextU32 = () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state);
  };
  return {
    nextU32,
    below(n: number): number {
      if (!(n >= 1) || n > 2 ** 32 || !Number.isInteger(n)) throw new RangeError(`below(${n}): n must be an integer in [1, 2^32]`);
      // Reject the top partial block of 2^32 so every residue is equally likely.
      const limit = 2 ** 32 - (2 ** 32 % n);
      for (;;) {
        const r = nextU32();
        if (r < limit) return r % n;
      }
    },
  };
}

/** Seeded Fisher–Yates permutation of 0..n-1. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = splitMix32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
