/**
 * SPEC §5 candidate sweep: Dirichlet/Gamma sampling statistics, the Pareto front against brute
 * force, determinism by seed, best <= every candidate, one loss call per batch, and GPU losses
 * within the mixing kernel's tolerance of the CPU oracle on the toy (fixtures/toy) and on a
 * larger seeded problem split into several batches.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { mixtureLosses, type MixtureLossInput } from '../../src/kernels/mixing.js';
import {
  logGammaVariate,
  paretoFront,
  prepareMixtureData,
  sampleDirichlet,
  splitMix32,
  sweepMixtures,
  type LossFn,
  type PreparedMixtureData,
} from '../../src/mixture/index.js';
import { openTestGpu } from '../helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

/** Same bound as test/mixing.test.ts (derivation there): f32 GPU vs f64 CPU losses. */
const GPU_TOLERANCE = 1e-5;

// ---- the toy (seeds/002), baseline scenario: every document kept, as in test/mixture/toy.test.ts
const toyDir = new URL('../../fixtures/toy/', import.meta.url);
const TOY_BUDGET = JSON.parse(readFileSync(new URL('expected.json', toyDir), 'utf8')).budget_tokens as number;
function toyData(): PreparedMixtureData {
  const words = (text: string) => text.toLowerCase().split(/\s+/).filter((w) => w !== '');
  const corpus: { source: string; text: string }[] = readFileSync(new URL('corpus.jsonl', toyDir), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  const evalNames = ['general', 'math', 'code'];
  const evalTexts = evalNames.map((name) => readFileSync(new URL(`evals/${name}.txt`, toyDir), 'utf8'));
  const grams = (tokens: string[]) => tokens.slice(0, Math.max(0, tokens.length - 7)).map((_, i) => tokens.slice(i, i + 8).join(' '));
  const evalGrams = new Set(evalTexts.flatMap((text) => grams(words(text))));
  const vocab = [...new Set([...corpus.flatMap((r) => words(r.text)), ...evalTexts.flatMap(words)])].sort();
  const sources = [...new Set(corpus.map((r) => r.source))];
  const counts = new Float64Array(sources.length * vocab.length);
  const leak = new Array(sources.length).fill(0);
  for (const record of corpus) {
    const i = sources.indexOf(record.source);
    const tokens = words(record.text);
    if (grams(tokens).some((gram) => evalGrams.has(gram))) leak[i] += tokens.length;
    for (const token of tokens) counts[i * vocab.length + vocab.indexOf(token)]++;
  }
  return prepareMixtureData({
    sources: sources.map((name, i) => ({ name, retainedDocs: 1, leakTokens: leak[i] })),
    counts,
    vocabSize: vocab.length,
    evals: evalNames.map((name, j) => ({ name, tokenCounts: Float64Array.from(vocab, (token) => words(evalTexts[j]).filter((w) => w === token).length) })),
  });
}

function randomData(seed: number, numSources: number, vocabSize: number, numEvals: number): PreparedMixtureData {
  const random = rng(seed);
  return prepareMixtureData({
    sources: Array.from({ length: numSources }, (_, i) => ({ name: `s${i}`, retainedDocs: 1, leakTokens: i })),
    counts: Float64Array.from({ length: numSources * vocabSize }, () => (random.next() < 0.4 ? 0 : random.int(100))),
    vocabSize,
    evals: Array.from({ length: numEvals }, (_, j) => ({
      name: `e${j}`,
      tokenCounts: Float64Array.from({ length: vocabSize }, (_, v) => (random.next() < 0.5 ? 0 : random.int(10)) + (v === j ? 1 : 0)),
    })),
  });
}

/** Independent SPEC §4 losses of one weight vector (straight from the formula, f64). */
function referenceLosses(data: PreparedMixtureData, w: ArrayLike<number>): number[] {
  const { numSources: K, vocabSize: V } = data;
  return data.evalNames.map((_, j) => {
    let loss = 0;
    for (let v = 0; v < V; v++) {
      let q = 0;
      for (let i = 0; i < K; i++) q += w[i] * data.distributions[i * V + v];
      loss -= data.evalDistributions[j * V + v] * Math.log(Math.max(q, 1e-12));
    }
    return loss;
  });
}

function bruteForcePareto(a: number[], b: number[], c: number[]): number[] {
  const dominates = (q: number, p: number) => a[q] <= a[p] && b[q] <= b[p] && c[q] <= c[p] && (a[q] < a[p] || b[q] < b[p] || c[q] < c[p]);
  return a.map((_, p) => p).filter((p) => !a.some((_, q) => dominates(q, p)));
}

describe('paretoFront', () => {
  const cases = [
    { name: 'empty', size: 0, levels: 10, seed: 1 },
    { name: 'one point', size: 1, levels: 10, seed: 2 },
    { name: 'many ties (3 levels per axis)', size: 60, levels: 3, seed: 3 },
    { name: 'continuous, 400 points', size: 400, levels: 0, seed: 4 },
    { name: 'integers, 300 points', size: 300, levels: 20, seed: 5 },
  ];
  for (const { name, size, levels, seed } of cases) {
    it(`matches brute force: ${name}`, () => {
      const random = rng(seed);
      const draw = () => Array.from({ length: size }, () => (levels ? random.int(levels) : random.next()));
      const [a, b, c] = [draw(), draw(), draw()];
      const front = paretoFront(a, b, c);
      expect([...front].sort((x, y) => x - y)).toEqual(bruteForcePareto(a, b, c));
      // Ordered by (a, b, c, index).
      for (let n = 1; n < front.length; n++) {
        const [p, q] = [front[n - 1], front[n]];
        expect(a[p] - a[q] || b[p] - b[q] || c[p] - c[q] || p - q).toBeLessThan(0);
      }
    });
  }
  it('keeps equal points (neither dominates) and drops a point dominated in one coordinate', () => {
    expect(paretoFront([1, 1, 1, 0], [2, 2, 3, 5], [0, 0, 0, 9])).toEqual([3, 0, 1]);
  });
});

describe('Gamma and Dirichlet sampling', () => {
  for (const shape of [0.05, 0.3, 1, 2.5, 20]) {
    it(`Gamma(${shape}) has mean and variance = shape (20,000 draws, 6 standard errors)`, () => {
      const random = splitMix32(shape * 1000);
      const draws = Array.from({ length: 20_000 }, () => Math.exp(logGammaVariate(shape, random)));
      const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
      const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / (draws.length - 1);
      expect(draws.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
      expect(Math.abs(mean - shape)).toBeLessThan(6 * Math.sqrt(shape / draws.length));
      // sd of the sample variance: sqrt((mu4 - sigma^4)/n), mu4 = 3 shape^2 + 6 shape for Gamma(shape, 1).
      expect(Math.abs(variance - shape)).toBeLessThan(6 * Math.sqrt((3 * shape ** 2 + 6 * shape - shape ** 2) / draws.length));
    });
  }

  it('Dirichlet rows sum to 1, alpha 0 gives exact zeros, and mean/variance match alpha', () => {
    const alpha = [2, 0, 0.5, 7.5];
    const count = 8000;
    const samples = sampleDirichlet(alpha, count, 99);
    const alpha0 = 10;
    for (let m = 0; m < count; m++) {
      const row = samples.subarray(m * 4, m * 4 + 4);
      expect(Math.abs(row.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-12);
      expect(row[1]).toBe(0);
    }
    alpha.forEach((a, i) => {
      const column = Array.from({ length: count }, (_, m) => samples[m * 4 + i]);
      const mean = column.reduce((s, x) => s + x, 0) / count;
      const variance = (a * (alpha0 - a)) / (alpha0 ** 2 * (alpha0 + 1));
      expect(Math.abs(mean - a / alpha0)).toBeLessThanOrEqual(6 * Math.sqrt(variance / count));
      const sampleVariance = column.reduce((s, x) => s + (x - mean) ** 2, 0) / (count - 1);
      expect(Math.abs(sampleVariance - variance)).toBeLessThanOrEqual(0.1 * variance + 1e-15);
    });
  });

  it('tiny alphas never give an all-zero or NaN row; samples are deterministic and prefix-stable', () => {
    const tiny = sampleDirichlet([0.001, 0.001, 0.001], 500, 7);
    for (let m = 0; m < 500; m++) expect(tiny[m * 3] + tiny[m * 3 + 1] + tiny[m * 3 + 2]).toBeCloseTo(1, 12);
    expect(sampleDirichlet([1, 2, 3], 50, 5)).toEqual(sampleDirichlet([1, 2, 3], 50, 5));
    expect(sampleDirichlet([1, 2, 3], 100, 5).subarray(0, 150)).toEqual(sampleDirichlet([1, 2, 3], 50, 5));
    expect(sampleDirichlet([1, 2, 3], 50, 6)).not.toEqual(sampleDirichlet([1, 2, 3], 50, 5));
    expect(() => sampleDirichlet([0, 0], 3, 1)).toThrow(/every alpha is 0/);
  });
});

describe('sweepMixtures (CPU oracle)', () => {
  const data = toyData();
  const base = { candidates: 300, concentration: 3, seed: 11, budgetTokens: TOY_BUDGET };

  it('is deterministic by seed, independent of the batch size, and makes one loss call per batch', async () => {
    let calls = 0;
    const counting: LossFn = (input) => {
      calls++;
      return referenceBatch(data, input);
    };
    const a = await sweepMixtures(data, { ...base, batchSize: 64, lossFn: counting });
    expect(calls).toBe(5);
    expect(a.batches).toBe(5);
    const b = await sweepMixtures(data, base);
    expect(b.batches).toBe(1);
    expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
    for (let n = 0; n < a.losses.length; n++) expect(Math.abs(a.losses[n] - b.losses[n])).toBeLessThan(1e-12);
    expect(b.paretoIndices).toEqual(a.paretoIndices);
    expect(b.best.index).toBe(a.best.index);
    const other = await sweepMixtures(data, { ...base, seed: 12 });
    expect(Array.from(other.weights)).not.toEqual(Array.from(b.weights));
  });

  it('losses, contamination and repetition match independent SPEC §4 formulas; best <= every candidate; front = brute force', async () => {
    const result = await sweepMixtures(data, { ...base, prior: { web: 0.6, edu: 0.2, code: 0.2 } });
    const K = data.numSources;
    const E = data.evalNames.length;
    for (let m = 0; m < result.numCandidates; m++) {
      const w = result.weights.subarray(m * K, (m + 1) * K);
      expect(Math.abs(w.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-12);
      referenceLosses(data, w).forEach((loss, j) => expect(Math.abs(result.losses[m * E + j] - loss)).toBeLessThan(1e-12));
      const contamination = Array.from(w).reduce((s, x, i) => s + (x * data.leakTokens[i]) / data.retainedTokens[i], 0);
      expect(result.contaminationMass[m]).toBeCloseTo(contamination, 14);
      expect(result.maxRepetition[m]).toBeCloseTo(Math.max(...Array.from(w, (x, i) => (TOY_BUDGET * x) / data.retainedTokens[i])), 12);
      expect(result.best.objective).toBeLessThanOrEqual(result.objective[m]);
    }
    expect(result.contaminationMass.some((c) => c > 0)).toBe(true); // the toy has a leaked doc (edu_b)
    const expected = bruteForcePareto(Array.from(result.objective), Array.from(result.maxRepetition), Array.from(result.contaminationMass));
    expect([...result.paretoIndices].sort((x, y) => x - y)).toEqual(expected);
    expect(result.pareto.map((c) => c.index)).toEqual(result.paretoIndices);
    expect(result.paretoIndices).toContain(result.best.index);
    for (const [source, alpha] of Object.entries({ web: 1.8, edu: 0.6, code: 0.6 })) expect(result.alpha[source]).toBeCloseTo(alpha, 14);
  });

  it('with maxEpochs, best is the lowest objective among candidates within the cap', async () => {
    const result = await sweepMixtures(data, { ...base, maxEpochs: 4 });
    const within = Array.from(result.maxRepetition).map((rho, m) => ({ rho, m })).filter(({ rho }) => rho <= 4);
    expect(within.length).toBeGreaterThan(0);
    expect(within.length).toBeLessThan(result.numCandidates);
    expect(result.bestWithinEpochCap).toBe(true);
    expect(result.best.maxRepetition).toBeLessThanOrEqual(4);
    for (const { m } of within) expect(result.best.objective).toBeLessThanOrEqual(result.objective[m]);
    const impossible = await sweepMixtures(data, { ...base, candidates: 20, maxEpochs: 0.01 });
    expect(impossible.bestWithinEpochCap).toBe(false);
    expect(impossible.best.objective).toBe(Math.min(...impossible.objective));
  });

  it('rejects bad options with a message', async () => {
    await expect(sweepMixtures(data, { ...base, candidates: 0 })).rejects.toThrow(/candidates must be a positive integer/);
    await expect(sweepMixtures(data, { ...base, concentration: 0 })).rejects.toThrow(/concentration/);
    await expect(sweepMixtures(data, { ...base, prior: { webb: 1 } })).rejects.toThrow(/unknown source "webb"/);
    await expect(sweepMixtures(data, { ...base, seed: -1 })).rejects.toThrow(/seed/);
  });
});

describe.skipIf(!gpu.ctx)(`sweepMixtures on the GPU (${gpu.label})`, () => {
  const gpuLoss: LossFn = (input) => mixtureLosses({ kind: 'gpu', ctx: gpu.ctx! }, input);
  const cases = [
    { name: 'toy (fixtures/toy), 200 candidates in one batch', data: () => toyData(), budget: TOY_BUDGET, candidates: 200, batchSize: 1024 },
    { name: 'K=5 V=3000 E=3, 300 candidates in 3 batches', data: () => randomData(21, 5, 3000, 3), budget: 1e4, candidates: 300, batchSize: 128 },
  ];
  for (const { name, data, budget, candidates, batchSize } of cases) {
    it(`GPU losses within ${GPU_TOLERANCE} of the CPU oracle: ${name}`, async () => {
      const prepared = data();
      const options = { candidates, concentration: 2, seed: 5, budgetTokens: budget, batchSize };
      let calls = 0;
      const onGpu = await sweepMixtures(prepared, { ...options, lossFn: (input) => (calls++, gpuLoss(input)) });
      const onCpu = await sweepMixtures(prepared, options);
      expect(calls).toBe(Math.ceil(candidates / batchSize));
      expect(Array.from(onGpu.weights)).toEqual(Array.from(onCpu.weights));
      let worst = 0;
      onCpu.losses.forEach((loss, n) => (worst = Math.max(worst, Math.abs(onGpu.losses[n] - loss) / Math.max(1, Math.abs(loss)))));
      expect(worst).toBeLessThanOrEqual(GPU_TOLERANCE);
      expect(Array.from(onGpu.contaminationMass)).toEqual(Array.from(onCpu.contaminationMass));
      for (let m = 0; m < candidates; m++) expect(onGpu.best.objective).toBeLessThanOrEqual(onGpu.objective[m]);
    });
  }
});

/** A loss function computed with the independent reference (for counting calls). */
function referenceBatch(data: PreparedMixtureData, input: MixtureLossInput): Float64Array {
  const out = new Float64Array(input.numCandidates * input.numEvals);
  for (let m = 0; m < input.numCandidates; m++) {
    out.set(referenceLosses(data, input.weights.subarray(m * input.numSources, (m + 1) * input.numSources)), m * input.numEvals);
  }
  return out;
}
