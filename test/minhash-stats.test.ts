/**
 * Statistical soundness of the MinHash family (SPEC §2 near dedup): over many random set
 * pairs with a known Jaccard similarity J, the estimate (fraction of equal slots) must be
 * unbiased and have the binomial spread sqrt(J(1-J)/K) of K independent min-wise hashes.
 * ngram = 1 and distinct token values make the shingle sets exactly the token sets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import { estimateJaccard, jaccardExact, type TokenBatch } from '../src/cpu/minhash.js';
import { minhash } from '../src/kernels/minhash.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

const K = 128;
const PAIRS = 300;
const UNION = 200;
const SIMILARITIES = [0.1, 0.3, 0.5, 0.8, 0.95];

/** PAIRS pairs of sets of distinct u32 with |A ∪ B| = UNION and |A ∩ B| = J * UNION. */
function pairsWithJaccard(j: number, seed: number): { batch: TokenBatch; exact: number[] } {
  const r = rng(seed);
  const shared = Math.round(j * UNION);
  const docs: number[][] = [];
  const exact: number[] = [];
  for (let p = 0; p < PAIRS; p++) {
    const values = new Set<number>();
    while (values.size < UNION) values.add(r.u32());
    const union = r.shuffle([...values]);
    const common = union.slice(0, shared);
    const rest = union.slice(shared);
    const half = Math.floor(rest.length / 2);
    const a = r.shuffle([...common, ...rest.slice(0, half)]);
    const b = r.shuffle([...common, ...rest.slice(half)]);
    docs.push(a, b);
    exact.push(jaccardExact(a, b));
  }
  const offsets = new Uint32Array(docs.length + 1);
  docs.forEach((doc, d) => (offsets[d + 1] = offsets[d] + doc.length));
  const tokens = new Uint32Array(offsets[docs.length]);
  docs.forEach((doc, d) => tokens.set(doc, offsets[d]));
  return { batch: { offsets, tokens }, exact };
}

const backends: { label: string; backend: () => Backend | null }[] = [
  { label: 'cpu', backend: () => ({ kind: 'cpu', reason: 'test' }) },
  { label: gpu.label, backend: () => (gpu.ctx ? { kind: 'gpu', ctx: gpu.ctx } : null) },
];

describe.each(backends)('MinHash estimates Jaccard without bias ($label)', ({ label, backend }) => {
  it.skipIf(label !== 'cpu' && !gpu.ctx).each(SIMILARITIES.map((j, i) => ({ j, seed: 1000 + i })))(
    'J = $j: mean within 4 standard errors, spread within 20% of sqrt(J(1-J)/K)',
    async ({ j, seed }) => {
      const { batch, exact } = pairsWithJaccard(j, seed);
      for (const value of exact) expect(value).toBeCloseTo(j, 12);
      const signatures = await minhash(backend()!, batch, { ngram: 1, numHashes: K, seed });
      const estimates: number[] = [];
      for (let p = 0; p < PAIRS; p++) {
        const a = signatures.subarray(2 * p * K, (2 * p + 1) * K);
        const b = signatures.subarray((2 * p + 1) * K, (2 * p + 2) * K);
        estimates.push(estimateJaccard(a, b));
      }
      const mean = estimates.reduce((s, x) => s + x, 0) / PAIRS;
      const std = Math.sqrt(estimates.reduce((s, x) => s + (x - mean) ** 2, 0) / (PAIRS - 1));
      const expectedStd = Math.sqrt((j * (1 - j)) / K);
      expect(Math.abs(mean - j)).toBeLessThan((4 * expectedStd) / Math.sqrt(PAIRS));
      expect(std).toBeGreaterThan(0.8 * expectedStd);
      expect(std).toBeLessThan(1.2 * expectedStd);
    },
  );
});
