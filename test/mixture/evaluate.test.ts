/** evaluateMixture / evaluateCandidates plumbing: pluggable loss function, renormalization, warnings, errors. */
import { describe, expect, it } from 'vitest';
import { mixtureLossesCpu, type MixtureLossInput } from '../../src/cpu/mixing.js';
import { TokenmixError } from '../../src/errors.js';
import { evaluateCandidates, evaluateMixture, prepareMixtureData, type MixtureData, type Schedule } from '../../src/mixture/index.js';

// Three sources over a 4-token vocabulary; "empty" retained nothing and is inactive.
const data: MixtureData = {
  sources: [
    { name: 'web', retainedDocs: 2, leakTokens: 0 },
    { name: 'math', retainedDocs: 1, leakTokens: 4, retainedTokens: 8 },
    { name: 'empty', retainedDocs: 0, leakTokens: 0 },
  ],
  counts: Float64Array.from([6, 2, 0, 0, /* math */ 0, 1, 4, 3, /* empty */ 0, 0, 0, 0]),
  vocabSize: 4,
  evals: [
    { name: 'general', tokenCounts: [1, 1, 0, 0] },
    { name: 'math', tokenCounts: [0, 0, 1, 1] },
  ],
};

describe('evaluateMixture', () => {
  const prepared = prepareMixtureData(data);

  it('drops inactive sources, renormalizes and warns about weight given to them', () => {
    expect(prepared.activeSources).toEqual(['web', 'math']);
    const result = evaluateMixture(prepared, [{ fraction: 1, weights: { web: 1, math: 1, empty: 2 } }], { budgetTokens: 16 });
    expect(result.weights).toEqual({ web: 0.5, math: 0.5 });
    expect(result.warnings.map((w) => w.kind)).toEqual(['inactive-source-weight']);
    const empty = result.sources.find((s) => s.name === 'empty')!;
    expect({ active: empty.active, weight: empty.weight, repetition: empty.repetition }).toEqual({ active: false, weight: 0, repetition: 0 });
    // rho = 16 · 0.5 / 8 = 1 for both sources; contamination = 0.5 · 4/8.
    expect(result.sources[0].repetition).toBe(1);
    expect(result.sources[1].repetition).toBe(1);
    expect(result.contaminationMass).toBe(0.25);
    expect(result.effectiveDistribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(result.objective).toBeCloseTo((result.losses.general + result.losses.math) / 2, 14);
  });

  it('per-stage losses are the losses of each stage mixture; lambda weights the objective', () => {
    const schedule: Schedule = [
      { fraction: 0.5, weights: { web: 1 } },
      { fraction: 0.5, weights: { math: 1 }, name: 'anneal' },
    ];
    const result = evaluateMixture(prepared, schedule, { budgetTokens: 8, evalWeights: { math: 3, general: 1 } });
    const perStage = mixtureLossesCpu({
      distributions: prepared.distributions,
      weights: Float64Array.from([1, 0, 0, 0, 1, 0]),
      evals: prepared.evalDistributions,
      numSources: 3,
      vocabSize: 4,
      numCandidates: 2,
      numEvals: 2,
    });
    expect(result.stages[0].losses).toEqual({ general: perStage[0], math: perStage[1] });
    expect(result.stages[1]).toMatchObject({ name: 'anneal', losses: { general: perStage[2], math: perStage[3] } });
    expect(result.evalWeights).toEqual({ general: 0.25, math: 0.75 });
    // q = 0.5 q_1 + 0.5 q_2, and q_1 is the web distribution itself.
    expect([...result.stages[0].effectiveDistribution]).toEqual([...prepared.distributions.subarray(0, 4)]);
    result.effectiveDistribution.forEach((value, v) =>
      expect(value).toBeCloseTo(0.5 * result.stages[0].effectiveDistribution[v] + 0.5 * result.stages[1].effectiveDistribution[v], 15),
    );
    expect(result.objective).toBeCloseTo(0.25 * result.losses.general + 0.75 * result.losses.math, 14);
  });

  it('names the problem on bad input', () => {
    expect(() => evaluateMixture(prepared, [{ fraction: 1, weights: { wbe: 1 } }], { budgetTokens: 8 })).toThrow(/unknown source "wbe"/);
    expect(() => evaluateMixture(prepared, [{ fraction: 1, weights: {} }], { budgetTokens: -1 })).toThrow(/budget_tokens/);
    expect(() => prepareMixtureData({ ...data, sources: data.sources.map((s) => ({ ...s, retainedTokens: 99 })) })).toThrow(
      /says 99 retained tokens but its histogram sums to 8/,
    );
    const none = prepareMixtureData({
      ...data,
      sources: data.sources.map((s) => ({ name: s.name, retainedDocs: 0, leakTokens: 0 })),
      counts: new Float64Array(12),
    });
    expect(() => evaluateMixture(none, [{ fraction: 1, weights: {} }], { budgetTokens: 8 })).toThrow(/mixture undefined/);
    expect(() => prepareMixtureData({ ...data, evals: [{ name: 'x', tokenCounts: [1, 2] }] })).toThrow(/expected vocabSize = 4/);
    expect(() => prepareMixtureData({ ...data, sources: [data.sources[0], data.sources[0], data.sources[2]] })).toThrow(/appears twice/);
    expect(() =>
      prepareMixtureData({ ...data, sources: data.sources.map((s) => (s.name === 'web' ? { ...s, leakTokens: 9 } : s)) }),
    ).toThrow(/9 leak tokens but only 8/);
  });
});

describe('evaluateCandidates', () => {
  const prepared = prepareMixtureData(data);
  const candidates = Float64Array.from([1, 1, 0, /* */ 3, 1, 5, /* all zero → uniform over active */ 0, 0, 0, /* */ 0, 1, 0]);

  it('uses the plugged-in (async) loss function once for all candidates', async () => {
    const calls: MixtureLossInput[] = [];
    const lossFn = async (input: MixtureLossInput) => {
      calls.push(input);
      return mixtureLossesCpu(input);
    };
    const batch = await evaluateCandidates(prepared, candidates, { budgetTokens: 16, lossFn, maxEpochs: 1.5 });
    expect(calls).toHaveLength(1);
    expect(calls[0].numCandidates).toBe(4);
    expect([...batch.weights]).toEqual([0.5, 0.5, 0, 0.75, 0.25, 0, 0.5, 0.5, 0, 0, 1, 0]);
    const cpu = await evaluateCandidates(prepared, candidates, { budgetTokens: 16 });
    expect([...batch.losses]).toEqual([...cpu.losses]);
    // rho_math for the last candidate = 16 · 1 / 8 = 2 > 1.5.
    expect(batch.exceedsEpochCap).toEqual([false, false, false, true]);
    expect(batch.repetition[3 * 3 + 1]).toBe(2);
    expect([...batch.contaminationMass]).toEqual([0.25, 0.125, 0.25, 0.5]);
  });

  it('rejects a loss function returning the wrong shape and a ragged weights matrix', async () => {
    await expect(evaluateCandidates(prepared, candidates, { budgetTokens: 1, lossFn: () => new Float64Array(3) })).rejects.toThrow(
      /returned 3 values, expected 4 × 2/,
    );
    await expect(evaluateCandidates(prepared, new Float64Array(4), { budgetTokens: 1 })).rejects.toThrow(TokenmixError);
  });
});
