/**
 * SPEC §5 optimizer: on small seeded problems (K = 2, 3) the weighted and minimax optima match a
 * fine grid search (computed here with an independent loss evaluation) within 1e-4, and every
 * constraint holds.
 */
import { describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import {
  lossesAndGradient,
  minimaxMixture,
  optimizeMixture,
  prepareMixtureData,
  reduceProblem,
  type PreparedMixtureData,
} from '../../src/mixture/index.js';

interface Problem {
  data: PreparedMixtureData;
  counts: number[][];
  evals: number[][];
}

function randomProblem(seed: number, numSources: number, numEvals: number, vocabSize = 6): Problem {
  const random = rng(seed);
  const counts = Array.from({ length: numSources }, () => Array.from({ length: vocabSize }, () => (random.next() < 0.3 ? 0 : random.int(50))));
  counts.forEach((row) => (row[random.int(vocabSize)] += 1)); // every source active
  const evals = Array.from({ length: numEvals }, () => Array.from({ length: vocabSize }, () => (random.next() < 0.3 ? 0 : random.int(20))));
  evals.forEach((row) => (row[random.int(vocabSize)] += 1));
  const data = prepareMixtureData({
    sources: counts.map((_, i) => ({ name: `s${i}`, retainedDocs: 1, leakTokens: 0 })),
    counts: Float64Array.from(counts.flat()),
    vocabSize,
    evals: evals.map((row, j) => ({ name: `e${j}`, tokenCounts: row })),
  });
  return { data, counts, evals };
}

/** Independent per-eval losses: SPEC §3 smoothing (eps 1e-9) and §4 cross-entropy, straight from the formulas. */
function referenceLosses(problem: Problem, w: number[]): number[] {
  const V = problem.counts[0].length;
  const P = smoothed.get(problem) ?? problem.counts.map((row) => {
    const mass = row.reduce((a, b) => a + b, 0);
    return row.map((c) => (c + 1e-9) / (mass + 1e-9 * V));
  });
  smoothed.set(problem, P);
  const q = Array.from({ length: V }, (_, v) => P.reduce((sum, row, i) => sum + w[i] * row[v], 0));
  return problem.evals.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return -row.reduce((sum, c, v) => sum + (c / total) * Math.log(Math.max(q[v], 1e-12)), 0);
  });
}
const smoothed = new WeakMap<Problem, number[][]>();

/** All points of the simplex with coordinates on a grid of step 1/n (K = 2 or 3). */
function* simplexGrid(numSources: number, n: number): Generator<number[]> {
  for (let a = 0; a <= n; a++) {
    if (numSources === 2) yield [a / n, (n - a) / n];
    else for (let b = 0; a + b <= n; b++) yield [a / n, b / n, (n - a - b) / n];
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('optimizeMixture reaches the grid optimum', () => {
  const cases = [
    ...[1, 2, 3, 4].map((seed) => ({ name: `K=2 seed ${seed}`, seed, K: 2, E: 1 + (seed % 3), constraints: {} })),
    ...[5, 6, 7].map((seed) => ({ name: `K=3 seed ${seed}`, seed, K: 3, E: 2, constraints: {} })),
    { name: 'K=3 with min/max weights', seed: 8, K: 3, E: 3, constraints: { minWeights: { s0: 0.2 }, maxWeights: { s1: 0.3 } } },
    { name: 'K=3 with an epoch cap', seed: 9, K: 3, E: 2, constraints: { maxEpochs: 2 } },
  ];
  for (const { name, seed, K, E, constraints } of cases) {
    it(name, () => {
      const problem = randomProblem(seed, K, E);
      const budgetTokens = 3 * Math.max(...Array.from(problem.data.retainedTokens));
      const result = optimizeMixture(problem.data, { budgetTokens, ...constraints });
      expect(result.converged).toBe(true);
      const w = problem.data.sourceNames.map((s) => result.weights[s]);
      // Constraints: simplex, bounds, epoch caps.
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      const lower = (i: number) => (constraints as { minWeights?: Record<string, number> }).minWeights?.[`s${i}`] ?? 0;
      const upper = (i: number) => {
        const maxEpochs = (constraints as { maxEpochs?: number }).maxEpochs;
        const cap = maxEpochs === undefined ? 1 : (maxEpochs * problem.data.retainedTokens[i]) / budgetTokens;
        return Math.min(cap, (constraints as { maxWeights?: Record<string, number> }).maxWeights?.[`s${i}`] ?? 1);
      };
      w.forEach((wi, i) => {
        expect(wi).toBeGreaterThanOrEqual(lower(i) - 1e-12);
        expect(wi).toBeLessThanOrEqual(upper(i) + 1e-12);
      });
      // Grid search over the feasible set with the independent loss evaluation.
      let gridBest = Infinity;
      for (const point of simplexGrid(K, K === 2 ? 10_000 : 400)) {
        if (point.some((wi, i) => wi < lower(i) - 1e-12 || wi > upper(i) + 1e-12)) continue;
        gridBest = Math.min(gridBest, mean(referenceLosses(problem, point)));
      }
      const attained = mean(referenceLosses(problem, w));
      expect(attained).toBeCloseTo(result.objective, 10);
      expect(attained).toBeLessThanOrEqual(gridBest + 1e-12);
      expect(gridBest - attained).toBeLessThan(1e-4);
    });
  }

  it('the analytic gradient matches central finite differences', () => {
    const problem = randomProblem(21, 3, 2);
    const reduced = reduceProblem(problem.data, { budgetTokens: 100 });
    const w = [0.2, 0.5, 0.3];
    const lambdas = [0.5, 0.5];
    const { gradient } = lossesAndGradient(reduced, w, lambdas);
    for (let i = 0; i < 3; i++) {
      const h = 1e-6;
      const plus = w.map((x, k) => (k === i ? x + h : x));
      const minus = w.map((x, k) => (k === i ? x - h : x));
      const numeric = (lossesAndGradient(reduced, plus, lambdas).value - lossesAndGradient(reduced, minus, lambdas).value) / (2 * h);
      expect(gradient[i]).toBeCloseTo(numeric, 6);
    }
  });

  it('an eval that is exactly one source pulls all weight there, up to its max weight', () => {
    const data = prepareMixtureData({
      sources: [
        { name: 'web', retainedDocs: 1, leakTokens: 0 },
        { name: 'math', retainedDocs: 1, leakTokens: 0 },
      ],
      counts: Float64Array.from([5, 5, 0, 0, 0, 0, 5, 5]),
      vocabSize: 4,
      evals: [{ name: 'math', tokenCounts: [0, 0, 1, 1] }],
    });
    expect(optimizeMixture(data, { budgetTokens: 10 }).weights.math).toBeCloseTo(1, 9);
    const capped = optimizeMixture(data, { budgetTokens: 10, maxWeights: { math: 0.6 } });
    expect(capped.weights).toEqual({ web: expect.closeTo(0.4, 12), math: expect.closeTo(0.6, 12) });
  });

  it('infeasible constraints are clear errors', () => {
    const { data } = randomProblem(3, 2, 1);
    expect(() => optimizeMixture(data, { budgetTokens: 100, minWeights: { s0: 0.7, s1: 0.7 } })).toThrow(/minimum weights sum to 1.4/);
    expect(() => optimizeMixture(data, { budgetTokens: 1e9, maxEpochs: 1 })).toThrow(/epoch caps/);
    expect(() => optimizeMixture(data, { budgetTokens: 100, minWeights: { nope: 0.1 } })).toThrow(/unknown source "nope"/);
    expect(() => optimizeMixture(data, { budgetTokens: 0 })).toThrow(/budget_tokens/);
  });
});

describe('minimaxMixture (DoReMi-style) reaches the grid minimax', () => {
  for (const { seed, E } of [
    { seed: 31, E: 2 },
    { seed: 32, E: 3 },
    { seed: 33, E: 2 },
    { seed: 34, E: 3 },
  ]) {
    it(`K=2, E=${E}, seed ${seed}`, () => {
      const problem = randomProblem(seed, 2, E);
      const result = minimaxMixture(problem.data, { budgetTokens: 100 });
      expect(result.converged).toBe(true);
      const reference = referenceLosses(problem, [0.5, 0.5]); // default reference: uniform over active sources
      const worst = (w: number[]) => Math.max(...referenceLosses(problem, w).map((loss, j) => loss - reference[j]));
      let gridBest = Infinity;
      for (const point of simplexGrid(2, 100_000)) gridBest = Math.min(gridBest, worst(point));
      const w = [result.weights.s0, result.weights.s1];
      expect(worst(w)).toBeCloseTo(result.worstExcess, 10);
      // The certified gap (tolerance 1e-8) bounds worst(w) - V*, and V* <= gridBest.
      expect(worst(w)).toBeLessThanOrEqual(gridBest + 2e-8);
      expect(result.rounds).toBeLessThan(500);
      expect(gridBest - worst(w)).toBeLessThan(1e-4);
      expect(result.lowerBound).toBeLessThanOrEqual(worst(w) + 1e-12);
      expect(result.worstExcess).toBeLessThanOrEqual(1e-8); // the reference itself is feasible
    });
  }

  it('K=3 respects the epoch cap', () => {
    const problem = randomProblem(41, 3, 3);
    const budgetTokens = 4 * Math.max(...Array.from(problem.data.retainedTokens));
    const result = minimaxMixture(problem.data, { budgetTokens, maxEpochs: 3 });
    problem.data.sourceNames.forEach((name, i) => {
      expect((budgetTokens * result.weights[name]) / problem.data.retainedTokens[i]).toBeLessThanOrEqual(3 + 1e-9);
    });
    expect(result.gap).toBeLessThan(1e-6);
  });
});
