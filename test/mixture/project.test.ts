/** Euclidean projection onto the capped simplex, checked against hand cases and a bisection oracle. */
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { TokenmixError } from '../../src/errors.js';
import { linearMinimizerCappedSimplex, projectCappedSimplex } from '../../src/mixture/index.js';

/** Independent oracle: 200 bisection steps on tau for sum_i clip(y_i - tau, l_i, u_i) = 1. */
function bisectionProjection(y: number[], lower: number[], upper: number[]): number[] {
  const at = (tau: number) => y.map((v, i) => Math.min(Math.max(v - tau, lower[i]), upper[i]));
  const sum = (tau: number) => at(tau).reduce((a, b) => a + b, 0);
  let lo = Math.min(...y) - 2;
  let hi = Math.max(...y) + 2;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (sum(mid) > 1) lo = mid;
    else hi = mid;
  }
  return at((lo + hi) / 2);
}

const cases = [
  { name: 'interior point stays', y: [0.5, 0.5], lower: [0, 0], upper: [1, 1], expected: [0.5, 0.5] },
  { name: 'plain simplex corner', y: [2, 0, 0], lower: [0, 0, 0], upper: [1, 1, 1], expected: [1, 0, 0] },
  { name: 'upper cap binds, rest shared', y: [1, 1, 1], lower: [0, 0, 0], upper: [0.2, 1, 1], expected: [0.2, 0.4, 0.4] },
  { name: 'lower bound binds', y: [0, 1, 1], lower: [0.5, 0, 0], upper: [1, 1, 1], expected: [0.5, 0.25, 0.25] },
  { name: 'caps sum to exactly 1', y: [5, -3], lower: [0, 0], upper: [0.3, 0.7], expected: [0.3, 0.7] },
  { name: 'minimums sum to exactly 1', y: [5, -3], lower: [0.4, 0.6], upper: [1, 1], expected: [0.4, 0.6] },
  { name: 'one coordinate', y: [-7], lower: [0], upper: [1], expected: [1] },
];

describe('projectCappedSimplex', () => {
  for (const { name, y, lower, upper, expected } of cases) {
    it(name, () => {
      const w = projectCappedSimplex(y, lower, upper);
      expected.forEach((value, i) => expect(w[i]).toBeCloseTo(value, 14));
    });
  }

  it('matches the bisection oracle, is feasible and idempotent (seeded)', () => {
    const random = rng(11);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + random.int(9);
      const lower = Array.from({ length: n }, () => (random.next() < 0.5 ? 0 : random.next() / (2 * n)));
      const upper = lower.map((l) => (random.next() < 0.3 ? 1 : l + random.next()));
      if (upper.reduce((a, b) => a + b, 0) < 1) continue;
      const y = Array.from({ length: n }, () => random.normal());
      const w = projectCappedSimplex(y, lower, upper);
      const oracle = bisectionProjection(y, lower, upper);
      w.forEach((value, i) => {
        expect(value).toBeCloseTo(oracle[i], 12);
        expect(value).toBeGreaterThanOrEqual(lower[i]);
        expect(value).toBeLessThanOrEqual(upper[i]);
      });
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 13);
      const again = projectCappedSimplex(w, lower, upper);
      again.forEach((value, i) => expect(value).toBeCloseTo(w[i], 14));
    }
  });

  it('infeasible bounds are clear errors', () => {
    expect(() => projectCappedSimplex([0, 0], [0.6, 0.6], [1, 1])).toThrow(/minimum weights sum to 1.2 > 1/);
    expect(() => projectCappedSimplex([0, 0], [0, 0], [0.3, 0.3])).toThrow(/maximum weights .* sum to 0.6 < 1/);
    expect(() => projectCappedSimplex([0, 0], [0.5, 0], [0.2, 1])).toThrow(/coordinate 0 needs weight >= 0.5 but at most 0.2/);
    expect(() => projectCappedSimplex([], [], [])).toThrow(TokenmixError);
  });
});

describe('linearMinimizerCappedSimplex', () => {
  it('fills the smallest-gradient coordinates first, up to their caps', () => {
    expect([...linearMinimizerCappedSimplex([3, 1, 2], [0.1, 0, 0], [1, 0.5, 1])]).toEqual([0.1, 0.5, 0.4]);
  });
});
