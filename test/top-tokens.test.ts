import { describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import { histogramEdges, nextF32Down, thresholdCpu, type HistogramSpec } from '../src/cpu/threshold.js';
import { TokenmixError } from '../src/errors.js';
import { retainedTokensCurve, topTokensThreshold } from '../src/filters/top-tokens.js';

describe('top-p tokens on a hand-made row', () => {
  // Bins [0, .25) [.25, .5) [.5, .75) [.75, 1) hold 1, 2, 3, 4 tokens: 10 in all.
  const row = [1, 2, 3, 4];
  const edges = [0, 0.25, 0.5, 0.75, 1];
  it('the curve is the suffix sum at each lower edge', () => {
    const curve = retainedTokensCurve(row, edges);
    expect(Array.from(curve.thresholds)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(Array.from(curve.retainedTokens)).toEqual([10, 9, 7, 4]);
  });
  const cases = [
    { p: 0.4, threshold: 0.75, retained: 4 }, // exactly 4 of 10 in the top bin
    { p: 0.41, threshold: 0.5, retained: 7 },
    { p: 0.7, threshold: 0.5, retained: 7 }, // ties with a bin boundary keep the higher edge
    { p: 0.05, threshold: 0.75, retained: 4 },
    { p: 1, threshold: 0, retained: 10 },
  ];
  it.each(cases)('p = $p keeps scores >= $threshold', ({ p, threshold, retained }) => {
    expect(topTokensThreshold(row, edges, p)).toEqual({ threshold, bin: edges.indexOf(threshold), retainedTokens: retained, totalTokens: 10 });
  });
  it('p = 1 with empty low bins keeps everything from the first non-empty bin', () => {
    expect(topTokensThreshold([0, 0, 5, 1], edges, 1).threshold).toBe(0.5);
  });
  it('a source without tokens returns the highest edge and says the total is 0', () => {
    expect(topTokensThreshold([0, 0, 0, 0], edges, 0.5)).toEqual({ threshold: 0.75, bin: 3, retainedTokens: 0, totalTokens: 0 });
  });
  const bad: [string, () => unknown, RegExp][] = [
    ['p = 0', () => topTokensThreshold(row, edges, 0), /\(0, 1\]/],
    ['p > 1', () => topTokensThreshold(row, edges, 1.5), /\(0, 1\]/],
    ['p NaN', () => topTokensThreshold(row, edges, NaN), /\(0, 1\]/],
    ['edges of the wrong length', () => retainedTokensCurve(row, edges.slice(1)), /needs 5 edges/],
    ['a negative bin', () => retainedTokensCurve([1, -1, 0, 0], edges), /bin 1 holds -1/],
    ['decreasing edges', () => retainedTokensCurve(row, [0, 0.5, 0.25, 0.75, 1]), /non-decreasing/],
  ];
  it.each(bad)('rejects %s', (_, call, message) => {
    expect(call).toThrow(TokenmixError);
    expect(call).toThrow(message);
  });
});

describe('top-p tokens against a brute-force sort of (score, tokens) pairs', () => {
  /** Tokens of the pairs with score >= t, from pairs sorted by descending score. */
  function bruteForce(pairs: { score: number; tokens: number }[]): (t: number) => number {
    const sorted = [...pairs].sort((a, b) => b.score - a.score);
    return (t) => {
      let sum = 0;
      for (const pair of sorted) {
        if (pair.score < t) break;
        sum += pair.tokens;
      }
      return sum;
    };
  }
  const specs: { name: string; spec: HistogramSpec; seed: number }[] = [
    { name: '16 exact bins', spec: { bins: 16, min: 0, max: 1 }, seed: 11 },
    { name: '50 inexact bins', spec: { bins: 50, min: -3, max: 3 }, seed: 12 },
    { name: '7 bins', spec: { bins: 7, min: -0.3, max: 0.7 }, seed: 13 },
  ];
  it.each(specs)('$name: the chosen edge keeps >= p and the next edge keeps < p', ({ spec, seed }) => {
    const random = rng(seed);
    const edges = histogramEdges(spec);
    const pairs: { score: number; tokens: number }[] = [];
    for (let i = 0; i < 2000; i++) {
      // Scores inside [min, max), a fifth of them exactly on an edge or one f32 below it.
      const onEdge = edges[1 + random.int(spec.bins - 1)];
      const score = random.next() < 0.2
        ? (random.next() < 0.5 ? onEdge : nextF32Down(onEdge))
        : Math.fround(spec.min + random.next() * (spec.max - spec.min) * 0.999);
      pairs.push({ score, tokens: random.next() < 0.05 ? 4e9 : random.int(3000) });
    }
    const { stats } = thresholdCpu(
      {
        scores: Float32Array.from(pairs, (x) => x.score),
        sources: new Uint32Array(pairs.length),
        tokens: Uint32Array.from(pairs, (x) => x.tokens),
      },
      { thresholds: new Float32Array([0]), histogram: spec },
    );
    const row = Array.from(stats.histogram);
    const tokensAtLeast = bruteForce(pairs);
    const total = tokensAtLeast(-Infinity);
    const curve = retainedTokensCurve(row, edges);
    for (let k = 0; k < spec.bins; k++) expect(curve.retainedTokens[k]).toBe(tokensAtLeast(edges[k]));
    for (const p of [1e-4, 0.01, 0.1, 0.25, 0.5, 0.9, 0.999, 1, curve.retainedTokens[3] / total]) {
      const choice = topTokensThreshold(row, edges, p);
      expect(choice.totalTokens).toBe(total);
      expect(choice.retainedTokens).toBe(tokensAtLeast(choice.threshold));
      expect(choice.retainedTokens).toBeGreaterThanOrEqual(p * total);
      if (choice.bin + 1 < spec.bins) expect(tokensAtLeast(edges[choice.bin + 1])).toBeLessThan(p * total);
    }
  });
});
