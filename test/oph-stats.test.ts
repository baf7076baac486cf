/**
 * Statistical soundness of one-permutation MinHash with optimal densification (src/cpu/oph.ts):
 * over many random set pairs with a known Jaccard similarity J, the estimate (fraction of
 * equal slots) must be unbiased, and its spread close to sqrt(J(1-J)/K), the spread of K
 * independent min-wise hashes.
 *
 * Two regimes, with different spread tolerances:
 * - large sets (|A ∪ B| = 2000 ≫ K): every bin is full and the K bin minima are a sample of
 *   the union drawn without replacement, so the spread is slightly below K-permutation's
 *   (finite-population factor sqrt((2000-128)/1999) ≈ 0.97; measured 0.94–1.00): within
 *   [0.8, 1.2]·sqrt(J(1-J)/K), the same tolerance as test/minhash-stats.test.ts.
 * - small sets (|A ∪ B| = 4, 10 or 30 shingles, K = 128: most bins empty, so densification
 *   decides most slots): slots that copy the same non-empty bin are correlated, so the spread
 *   is larger than K independent hashes give. Measured with 2000 pairs per cell: 1.1–1.4×
 *   (1.36 at 4 shingles, 1.15–1.3 at 10, 1.1–1.25 at 30). Tolerance: [0.8, 1.6]·sqrt(J(1-J)/K).
 *   The bias, which densification must not introduce, gets the same test as in the large regime.
 * Bias: |mean − J| within 4 standard errors of the mean (sd/sqrt(PAIRS), from the measured sd).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import { estimateJaccard } from '../src/cpu/minhash.js';
import { ophCpu, shingleBatch, type ShingleBatch } from '../src/cpu/oph.js';
import { optimalBands } from '../src/dedup/lsh.js';
import { oph } from '../src/kernels/oph.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

const K = 128;
const PAIRS = 300;

/** PAIRS pairs of sets of distinct u32 with |A ∪ B| = union and |A ∩ B| = shared. */
function pairs(union: number, shared: number, seed: number): ShingleBatch {
  const r = rng(seed);
  const docs: number[][] = [];
  for (let p = 0; p < PAIRS; p++) {
    const values = new Set<number>();
    while (values.size < union) values.add(r.u32());
    const all = r.shuffle([...values]);
    const rest = all.slice(shared);
    const half = Math.floor(rest.length / 2);
    docs.push([...all.slice(0, shared), ...rest.slice(0, half)].sort((a, b) => a - b));
    docs.push([...all.slice(0, shared), ...rest.slice(half)].sort((a, b) => a - b));
  }
  return shingleBatch(docs.map((doc) => Uint32Array.from(doc)));
}

interface Cell {
  union: number;
  shared: number;
  maxSpread: number;
}
const large = [0.1, 0.3, 0.5, 0.8, 0.95].map((j): Cell => ({ union: 2000, shared: Math.round(j * 2000), maxSpread: 1.2 }));
const small: Cell[] = [
  { union: 4, shared: 1 },
  { union: 4, shared: 2 },
  { union: 4, shared: 3 },
  { union: 10, shared: 1 },
  { union: 10, shared: 5 },
  { union: 10, shared: 8 },
  { union: 30, shared: 3 },
  { union: 30, shared: 15 },
  { union: 30, shared: 28 },
].map((cell) => ({ ...cell, maxSpread: 1.6 }));

const backends: { label: string; backend: () => Backend | null }[] = [
  { label: 'cpu', backend: () => ({ kind: 'cpu', reason: 'test' }) },
  { label: gpu.label, backend: () => (gpu.ctx ? { kind: 'gpu', ctx: gpu.ctx } : null) },
];

describe.each(backends)('one-permutation MinHash estimates Jaccard without bias ($label)', ({ label, backend }) => {
  it.skipIf(label !== 'cpu' && !gpu.ctx).each([...large, ...small].map((cell, i) => ({ ...cell, seed: 2000 + i })))(
    '|A∪B| = $union, |A∩B| = $shared: mean within 4 standard errors, spread within [0.8, $maxSpread]·sqrt(J(1-J)/K)',
    async ({ union, shared, maxSpread, seed }) => {
      const j = shared / union;
      const sketches = await oph(backend()!, pairs(union, shared, seed), { numHashes: K, seed });
      const estimates: number[] = [];
      for (let p = 0; p < PAIRS; p++) {
        estimates.push(estimateJaccard(sketches.subarray(2 * p * K, (2 * p + 1) * K), sketches.subarray((2 * p + 1) * K, (2 * p + 2) * K)));
      }
      const mean = estimates.reduce((s, x) => s + x, 0) / PAIRS;
      const std = Math.sqrt(estimates.reduce((s, x) => s + (x - mean) ** 2, 0) / (PAIRS - 1));
      const expectedStd = Math.sqrt((j * (1 - j)) / K);
      expect(Math.abs(mean - j)).toBeLessThan((4 * std) / Math.sqrt(PAIRS));
      expect(std).toBeGreaterThan(0.8 * expectedStd);
      expect(std).toBeLessThan(maxSpread * expectedStd);
    },
  );
});

/**
 * LSH banding over OPH sketches: the fraction of pairs that share at least one band must
 * follow the S-curve 1 − (1 − J^r)^b that dedup's banding is tuned with (src/dedup/lsh.ts),
 * as it does for K-permutation MinHash. Bands and rows are dedup's defaults (tuned for
 * 0.8 − 0.2 at K = 128). Tolerance: 4 binomial standard errors plus 0.02, because for small
 * sets several slots of a band copy the same bin, which flattens the curve slightly
 * (measured with 1500 pairs: at most 0.037 below it at |A∪B| = 10, J = 0.7; within noise at 300).
 */
describe('LSH banding over one-permutation sketches follows the S-curve (cpu; the GPU is bit-identical)', () => {
  const { bands, rows } = optimalBands(0.6, K);
  it.each([10, 300].flatMap((union) => [0.6, 0.7, 0.8].map((j, i) => ({ union, shared: Math.round(j * union), seed: 3000 + union + i }))))(
    '|A∪B| = $union, |A∩B| = $shared',
    ({ union, shared, seed }) => {
      const batch = pairs(union, shared, seed);
      const sketches = ophCpu(batch, { numHashes: K, seed });
      let candidates = 0;
      for (let p = 0; p < PAIRS; p++) {
        const a = 2 * p * K;
        const b = (2 * p + 1) * K;
        let shareBand = false;
        for (let band = 0; band < bands && !shareBand; band++) {
          shareBand = true;
          for (let i = band * rows; i < (band + 1) * rows; i++) if (sketches[a + i] !== sketches[b + i]) shareBand = false;
        }
        if (shareBand) candidates++;
      }
      const expected = 1 - (1 - (shared / union) ** rows) ** bands;
      expect(Math.abs(candidates / PAIRS - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / PAIRS) + 0.02);
    },
  );
});
