/**
 * SPEC §3 baselines and §4 diagnostics on small hand-worked cases. Numeric goldens were computed
 * by hand or with python3's math module (noted per case), not by the code under test.
 */
import { describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import {
  baselineWeights,
  contaminationMass,
  effectiveTokens,
  evalDistribution,
  expectedUniqueTokens,
  normalizeEvalWeights,
  repetitionPressure,
  type BaselineInputs,
} from '../../src/mixture/index.js';

describe('diagnostics (SPEC §4)', () => {
  it('repetition pressure rho = B w / M, and 0 for an inactive source', () => {
    expect(repetitionPressure(180, 0.15, 25)).toBeCloseTo(1.08, 15);
    expect(repetitionPressure(1000, 0, 0)).toBe(0);
  });

  it('expected unique tokens M (1 - e^-rho)', () => {
    expect(expectedUniqueTokens(100, 2)).toBeCloseTo(86.46647167633873, 12); // python3: 100*(1-math.exp(-2))
    expect(expectedUniqueTokens(100, 0)).toBe(0);
  });

  it('data-constrained effective tokens (Muennighoff et al. 2023, R*_D = 15.4)', () => {
    expect(effectiveTokens(100, 0.5)).toBe(50); // < 1 epoch: every token is new
    expect(effectiveTokens(100, 1)).toBe(100);
    expect(effectiveTokens(100, 5)).toBeCloseTo(452.2720971700905, 10); // python3: 100+100*15.4*(1-exp(-4/15.4))
    expect(effectiveTokens(1000, 1.5)).toBeCloseTo(1491.9702535155618, 9);
    expect(effectiveTokens(100, 1e6)).toBeCloseTo(100 + 100 * 15.4, 6); // saturates at U (1 + R*)
    expect(() => effectiveTokens(100, 2, 0)).toThrow(TokenmixError);
  });

  it('contamination mass sum_i w_i leak_i / M_i, skipping inactive sources', () => {
    expect(contaminationMass([0.7, 0.15, 0.15], [0, 12, 0], [45, 25, 21])).toBeCloseTo(0.072, 15);
    expect(contaminationMass([1, 0], [5, 0], [10, 0])).toBe(0.5);
  });

  it('eval weights lambda: equal by default, normalized to sum 1, validated', () => {
    expect([...normalizeEvalWeights(['a', 'b', 'c'])]).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect([...normalizeEvalWeights(['a', 'b', 'c'], { a: 2, b: 2 })]).toEqual([0.5, 0.5, 0]);
    expect(() => normalizeEvalWeights(['a'], { z: 1 })).toThrow(/unknown eval set "z"/);
    expect(() => normalizeEvalWeights(['a'], { a: 0 })).toThrow(/all weights are 0/);
    expect(() => normalizeEvalWeights(['a'], { a: -1 })).toThrow(/>= 0/);
    expect(() => normalizeEvalWeights([])).toThrow(/no evaluation sets/);
  });

  it('eval distributions from counts; an empty eval set is an error', () => {
    expect([...evalDistribution([9, 9, 2])]).toEqual([0.45, 0.45, 0.1]);
    expect(() => evalDistribution([0, 0], 'eval set "math"')).toThrow(/eval set "math" has no tokens/);
  });
});

describe('baselines (SPEC §3)', () => {
  // s3 is inactive (no retained tokens) and must never get weight.
  const inputs: BaselineInputs = {
    sourceNames: ['s0', 's1', 's2', 's3'],
    retainedTokens: [10, 50, 1000, 0],
    retainedDocs: [5, 1, 2, 0],
  };
  const cases: { name: string; spec: Parameters<typeof baselineWeights>[0]; expected: Record<string, number> }[] = [
    { name: 'uniform-docs: w ∝ retained documents', spec: { kind: 'uniform-docs' }, expected: { s0: 5 / 8, s1: 1 / 8, s2: 2 / 8 } },
    { name: 'uniform-tokens: equal token share', spec: { kind: 'uniform-tokens' }, expected: { s0: 1 / 3, s1: 1 / 3, s2: 1 / 3 } },
    { name: 'proportional: w ∝ retained tokens', spec: { kind: 'proportional' }, expected: { s0: 10 / 1060, s1: 50 / 1060, s2: 1000 / 1060 } },
    {
      // 10^(1/2) : 50^(1/2) : 1000^(1/2)
      name: 'temperature T=2',
      spec: { kind: 'temperature', temperature: 2 },
      expected: Object.fromEntries(
        ['s0', 's1', 's2'].map((n, i) => [n, Math.sqrt([10, 50, 1000][i]) / (Math.sqrt(10) + Math.sqrt(50) + Math.sqrt(1000))]),
      ),
    },
    {
      // Hand water-filling, B = 600, 2 epochs: s0 share 200 > cap 20 → 20; s1 share 290 > cap 100 → 100; s2 gets 480.
      name: 'unimax B=600, 2 epochs',
      spec: { kind: 'unimax', budgetTokens: 600, maxEpochs: 2 },
      expected: { s0: 20 / 600, s1: 100 / 600, s2: 480 / 600 },
    },
    {
      // No cap binds: plain uniform.
      name: 'unimax B=30, 4 epochs',
      spec: { kind: 'unimax', budgetTokens: 30, maxEpochs: 4 },
      expected: { s0: 1 / 3, s1: 1 / 3, s2: 1 / 3 },
    },
    { name: 'hand-tuned, renormalized over active', spec: { kind: 'hand-tuned', weights: { s0: 1, s2: 3, s3: 6 } }, expected: { s0: 0.25, s1: 0, s2: 0.75 } },
  ];
  for (const { name, spec, expected } of cases) {
    it(name, () => {
      const weights = baselineWeights(spec, inputs);
      expect(Object.keys(weights)).toEqual(['s0', 's1', 's2']);
      for (const [source, weight] of Object.entries(expected)) expect(weights[source]).toBeCloseTo(weight, 14);
    });
  }

  it('temperature 1 is proportional; huge counts do not overflow', () => {
    expect(baselineWeights({ kind: 'temperature', temperature: 1 }, inputs).s2).toBeCloseTo(1000 / 1060, 14);
    const huge = baselineWeights({ kind: 'temperature', temperature: 0.01 }, { sourceNames: ['a', 'b'], retainedTokens: [1e300, 2e300], retainedDocs: [1, 1] });
    expect(huge.a + huge.b).toBeCloseTo(1, 14);
    expect(Number.isFinite(huge.a)).toBe(true);
  });

  it('unimax without enough capacity, bad temperatures and unknown kinds are clear errors', () => {
    expect(() => baselineWeights({ kind: 'unimax', budgetTokens: 10_000, maxEpochs: 2 }, inputs)).toThrow(/raise maxEpochs or lower the budget/);
    expect(() => baselineWeights({ kind: 'temperature', temperature: 0 }, inputs)).toThrow(/T must be/);
    expect(() => baselineWeights({ kind: 'hand-tuned', weights: { nope: 1 } }, inputs)).toThrow(/unknown source "nope"/);
    expect(() => baselineWeights({ kind: 'bogus' } as never, inputs)).toThrow(/unknown baseline kind/);
    expect(() => baselineWeights({ kind: 'proportional' }, { sourceNames: ['a'], retainedTokens: [0], retainedDocs: [0] })).toThrow(
      /mixture undefined/,
    );
  });
});
