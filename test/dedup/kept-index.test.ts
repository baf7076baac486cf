import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { KeptIndex } from '../../src/dedup/kept-index.js';
import { verifyPair } from '../../src/dedup/shingles.js';

/** A sorted set of u32 from `base` (shared with its family) and `own` fresh elements. */
function family(r: ReturnType<typeof rng>, base: number[], keep: number, own: number): Uint32Array {
  const picked = r.shuffle([...base]).slice(0, keep);
  const fresh = Array.from({ length: own }, () => r.u32());
  return Uint32Array.from(new Set([...picked, ...fresh])).sort();
}

describe('KeptIndex bitmap bound (an exact filter)', () => {
  for (const [size, threshold] of [[40, 0.8], [700, 0.8], [700, 0.7], [3000, 0.9], [1, 0.5]] as const) {
    it(`never drops a kept member that passes, and drops some that fail (|set| ≈ ${size}, T = ${threshold})`, () => {
      const r = rng(size * 31 + Math.round(threshold * 10));
      const base = Array.from({ length: size }, () => r.u32());
      // J with the base spread from ~0.3 to 1: some pass, many fail, many fail narrowly.
      const sets = Array.from({ length: 300 }, (_, d) => family(r, base, Math.max(1, Math.round(size * (0.45 + 0.55 * (d % 60) / 59))), r.int(Math.max(2, size / 4))));
      // The prefix filter is made to let everything through (the whole set is its "prefix"),
      // so candidates are exactly the ones the bound keeps.
      const index = new KeptIndex((d) => sets[d], (d) => d, { set: (d) => sets[d], threshold });
      const kept = 200;
      for (let k = 0; k < kept; k++) index.add(k, k);
      let passing = 0;
      let dropped = 0;
      for (let q = kept; q < sets.length; q++) {
        const candidates = new Set(index.candidatesFrom(q, 0));
        for (let k = 0; k < kept; k++) {
          const shares = sets[q].some((e) => sets[k].includes(e));
          const passes = verifyPair(sets[q], sets[k], threshold) >= 0;
          if (passes) {
            passing++;
            expect(candidates.has(k), `query ${q} kept ${k}`).toBe(true);
          } else if (shares && !candidates.has(k)) dropped++;
        }
      }
      // The check is not vacuous: pairs pass; and where bitmaps are not saturated, it prunes.
      if (size > 1) expect(passing).toBeGreaterThan(0);
      if (size > 1 && size <= 700) expect(dropped).toBeGreaterThan(1000);
    });
  }
});
