import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import { mixtureLossesCpu, smoothedDistributions, type MixtureLossInput } from '../src/cpu/mixing.js';
import { TokenmixError } from '../src/errors.js';
import {
  CANDIDATES_PER_GROUP,
  GpuMixtureEvaluator,
  MIXING_WORKGROUP_SIZE,
  mixtureLosses,
  mixtureLossesGpu,
  planCandidateRanges,
  planMixingDispatches,
  planVocabChunks,
  tilesFor,
  type MixingOptions,
} from '../src/kernels/mixing.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

/**
 * GPU tolerance: |gpu - reference| <= 1e-5 * max(1, |reference|). The GPU rounds P, w and p_e to
 * f32 (relative 6e-8 each), sums q over K <= 20 sources in f32 (absolute error of log q about
 * K * 6e-8 = 1.2e-6, times sum_v p_e(v) = 1), takes an f32 log (3 ulp, ~2e-7 relative), and each
 * invocation sums its same-sign terms in f32 over at most 2048 / 32 = 64 sequential steps
 * (64 * 6e-8 = 3.8e-6 relative); the host adds those partial sums in f64. Total < 1e-5 * max(1, |L|).
 * The CPU backend is held to 1e-12 relative (f64 throughout, different summation order).
 */
const GPU_TOLERANCE = 1e-5;
const CPU_TOLERANCE = 1e-12;

/**
 * An independent reference for the tables: SPEC §4 evaluated term by term for each (m, e), the
 * most literal order possible (not the oracle's source-major accumulation).
 */
function referenceLosses(input: MixtureLossInput): Float64Array {
  const { distributions: P, weights: W, evals, numSources: K, vocabSize: V, numCandidates: M, numEvals: E } = input;
  const out = new Float64Array(M * E);
  for (let m = 0; m < M; m++) {
    for (let e = 0; e < E; e++) {
      let loss = 0;
      for (let v = 0; v < V; v++) {
        let q = 0;
        for (let k = 0; k < K; k++) q += W[m * K + k] * P[k * V + v];
        loss += -evals[e * V + v] * Math.log(Math.max(q, 1e-12));
      }
      out[m * E + e] = loss;
    }
  }
  return out;
}

/** Rows of random distributions; `zeroRate` of the entries are exactly 0 (tokens with q = 0). */
function distributionRows(random: ReturnType<typeof rng>, rows: number, width: number, zeroRate = 0): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let v = 0; v < width; v++) {
      const x = random.next() < zeroRate ? 0 : random.next() ** 3 + 1e-6;
      out[r * width + v] = x;
      sum += x;
    }
    if (sum === 0) out[r * width] = sum = 1;
    for (let v = 0; v < width; v++) out[r * width + v] /= sum;
  }
  return out;
}

interface Shape {
  K: number;
  V: number;
  M: number;
  E: number;
  /** Fraction of weights that are exactly zero. */
  weightZeros?: number;
  /** Fraction of P entries that are exactly zero (q = 0 where the evals have mass: the 1e-12 floor). */
  pZeros?: number;
  options?: MixingOptions;
}

function generate(seed: number, s: Shape): MixtureLossInput {
  const random = rng(seed);
  const weights = distributionRows(random, s.M, s.K, s.weightZeros ?? 0);
  return {
    distributions: distributionRows(random, s.K, s.V, s.pZeros ?? 0),
    weights,
    evals: distributionRows(random, s.E, s.V),
    numSources: s.K,
    vocabSize: s.V,
    numCandidates: s.M,
    numEvals: s.E,
  };
}

const randomCases: { name: string; seed: number; shape: Shape }[] = [
  { name: 'M=1 E=1 V=1 K=1', seed: 1, shape: { K: 1, V: 1, M: 1, E: 1 } },
  { name: 'M=7 E=3 V=1000 K=16 with zero weights', seed: 2, shape: { K: 16, V: 1000, M: 7, E: 3, weightZeros: 0.5 } },
  { name: 'M=300 E=8 V=1000 K=16', seed: 3, shape: { K: 16, V: 1000, M: 300, E: 8 } },
  { name: 'M=7 E=8 V=100k K=16 (the bench shape)', seed: 4, shape: { K: 16, V: 100_000, M: 7, E: 8 } },
  { name: 'block edges: M=17 E=9 V=2049 K=1', seed: 5, shape: { K: 1, V: 2049, M: CANDIDATES_PER_GROUP + 1, E: 9 } },
  { name: 'more than 16 sources: K=20 (slow path), E=17', seed: 6, shape: { K: 20, V: 500, M: 15, E: 17 } },
  { name: 'q = 0 under eval mass hits the 1e-12 floor', seed: 7, shape: { K: 3, V: 300, M: 5, E: 3, pZeros: 0.6, weightZeros: 0.3 } },
  {
    name: 'vocabulary chunks and candidate ranges (small binding, small dispatches)',
    seed: 8,
    shape: { K: 4, V: 5000, M: 40, E: 3, options: { tileWidth: 64, maxBindingBytes: 16 * 3 * 2 * 32 * 4, maxCellsPerDispatch: 20_000 } },
  },
  {
    // The shader's 2D indexing and overshoot exit, reached cheaply: 23 tiles × 2 candidate blocks ×
    // 2 eval blocks = 92 workgroups, dispatched as 2 candidate ranges of 46 on 7 × 7 grids (a real 65536-workgroup run costs ~15 s on llvmpipe).
    name: '2D grid (workgroups beyond the per-dimension cap)',
    seed: 9,
    shape: { K: 2, V: 32 * 23, M: 20, E: 9, options: { tileWidth: 32, maxWorkgroupsPerDimension: 7 } },
  },
];

/** Hand-computed values (no code involved in the expected numbers beyond Math.log). */
const handCases: { name: string; input: MixtureLossInput; expected: number[] }[] = [
  {
    name: 'K=1, V=2 uniform, eval on token 0: log 2',
    input: { distributions: new Float64Array([0.5, 0.5]), weights: new Float64Array([1]), evals: new Float64Array([1, 0]), numSources: 1, vocabSize: 2, numCandidates: 1, numEvals: 1 },
    expected: [Math.LN2],
  },
  {
    name: 'two point masses mixed 1:3, uniform eval; and the 1e-12 floor',
    input: {
      distributions: new Float64Array([1, 0, 0, 1]),
      weights: new Float64Array([0.25, 0.75, 1, 0]),
      evals: new Float64Array([0.5, 0.5, 0, 1]),
      numSources: 2,
      vocabSize: 2,
      numCandidates: 2,
      numEvals: 2,
    },
    // Candidate 0: q = (1/4, 3/4). Candidate 1: q = (1, 0), so eval 1 pays -log(1e-12) = 12 ln 10.
    expected: [-(0.5 * Math.log(0.25) + 0.5 * Math.log(0.75)), -Math.log(0.75), 0.5 * 12 * Math.LN10, 12 * Math.LN10],
  },
];

function expectClose(actual: Float64Array, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  }
  expect(worst).toBeLessThanOrEqual(tolerance);
}

const backends: { label: string; backend: () => Backend; tolerance: number; skip: boolean }[] = [
  { label: 'cpu', backend: () => ({ kind: 'cpu', reason: 'test' }), tolerance: CPU_TOLERANCE, skip: false },
  { label: gpu.label, backend: () => ({ kind: 'gpu', ctx: gpu.ctx! }), tolerance: GPU_TOLERANCE, skip: !gpu.ctx },
];

for (const { label, backend, tolerance, skip } of backends) {
  describe.skipIf(skip)(`mixture losses conformance (${label})`, () => {
    it.each(handCases)('$name', async ({ input, expected }) => {
      expectClose(await mixtureLosses(backend(), input), expected, tolerance);
    });
    it.each(randomCases)('$name', async ({ seed, shape }) => {
      const input = generate(seed, shape);
      // Big shapes: compare against the oracle, itself checked against the reference on the small ones.
      const big = shape.V * shape.M * (shape.K + shape.E) > 5e7;
      const expected = big ? mixtureLossesCpu(input) : referenceLosses(input);
      const b = backend();
      const actual = b.kind === 'gpu' ? await mixtureLossesGpu(b.ctx, input, undefined, shape.options) : await mixtureLosses(b, input);
      expectClose(actual, expected, tolerance);
    });
    it('returns an empty table for no candidates or no evals', async () => {
      const input = generate(10, { K: 2, V: 10, M: 0, E: 2 });
      expect((await mixtureLosses(backend(), input)).length).toBe(0);
      expect((await mixtureLosses(backend(), { ...generate(10, { K: 2, V: 10, M: 3, E: 0 }) })).length).toBe(0);
    });
    it('rejects mis-shaped inputs and an empty source set with a tokenmix error', async () => {
      const input = generate(11, { K: 2, V: 10, M: 3, E: 2 });
      await expect(mixtureLosses(backend(), { ...input, weights: new Float32Array(5) })).rejects.toThrow(/weights has 5 values but numCandidates × numSources = 3 × 2/);
      await expect(mixtureLosses(backend(), { ...input, numSources: 0, distributions: new Float32Array(0), weights: new Float32Array(0) })).rejects.toThrow(TokenmixError);
    });
  });
}

describe('mixture losses: CPU oracle against the literal reference', () => {
  it.each(randomCases.filter((c) => c.shape.V * c.shape.M * (c.shape.K + c.shape.E) <= 5e7))('$name', ({ seed, shape }) => {
    const input = generate(seed, shape);
    expectClose(mixtureLossesCpu(input), referenceLosses(input), CPU_TOLERANCE);
  });
});

describe('smoothedDistributions (SPEC §3)', () => {
  it('matches hand-computed values, an empty source comes out uniform', () => {
    const P = smoothedDistributions(new Float64Array([3, 1, 0, 0]), 2, 2, 1e-9);
    expect(P[0]).toBe((3 + 1e-9) / (4 + 2e-9));
    expect(P[1]).toBe((1 + 1e-9) / (4 + 2e-9));
    expect(Array.from(P.subarray(2))).toEqual([0.5, 0.5]);
  });
  it('defaults eps to 1e-9 and rejects an undefined distribution', () => {
    expect(smoothedDistributions(new Float64Array([0, 2]), 1, 2)[0]).toBe(1e-9 / (2 + 2e-9));
    expect(() => smoothedDistributions(new Float64Array([0, 0]), 1, 2, 0)).toThrow(/source 0 has no retained tokens and eps = 0/);
    expect(() => smoothedDistributions(new Float64Array(3), 2, 2)).toThrow(TokenmixError);
  });
});

describe('mixing dispatch planning', () => {
  const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxComputeWorkgroupsPerDimension: 65535 };
  it('the GPU table case with small limits really splits vocabulary and candidates', () => {
    const c = randomCases.find((x) => x.name.startsWith('vocabulary chunks'))!;
    const shape = { numSources: c.shape.K, vocabSize: c.shape.V, numCandidates: c.shape.M, numEvals: c.shape.E };
    const plan = planMixingDispatches(shape, limits, c.shape.options);
    expect(plan.vocabChunks.length).toBe(40);
    expect(plan.candidateRanges.length).toBe(3);
  });
  it('keeps the bench shape in one dispatch', () => {
    const plan = planMixingDispatches({ numSources: 16, vocabSize: 100_000, numCandidates: 300, numEvals: 8 }, limits);
    expect(plan.vocabChunks).toEqual([{ start: 0, end: 100_000 }]);
    expect(plan.candidateRanges).toEqual([{ start: 0, end: 300 }]);
  });
  const chunkCases = [
    { name: 'P rows limit the chunk', shape: { numSources: 300, vocabSize: 10_000, numEvals: 2 }, maxBinding: 300 * 4 * 512, tile: 256 },
    { name: 'partial sums limit the chunk', shape: { numSources: 2, vocabSize: 1000, numEvals: 6 }, maxBinding: 4 * 16 * 6 * 32 * 4, tile: 50 },
    { name: 'V = 1', shape: { numSources: 1, vocabSize: 1, numEvals: 1 }, maxBinding: 2 ** 16, tile: 32 },
  ];
  it.each(chunkCases)('vocabulary chunks: $name', ({ shape, maxBinding, tile }) => {
    const chunks = planVocabChunks(shape, maxBinding, tile);
    let next = 0;
    for (const c of chunks) {
      expect(c.start).toBe(next);
      expect(Math.max(shape.numSources, shape.numEvals) * (c.end - c.start) * 4).toBeLessThanOrEqual(maxBinding);
      expect(partialBytes(1, shape.numEvals, tilesFor(c.end - c.start, tile))).toBeLessThanOrEqual(maxBinding);
      if (c.end !== shape.vocabSize) expect((c.end - c.start) % tile).toBe(0);
      next = c.end;
    }
    expect(next).toBe(shape.vocabSize);
  });
  it('refuses sources that cannot fit one tile per binding', () => {
    expect(() => planVocabChunks({ numSources: 1000, vocabSize: 10, numEvals: 1 }, 2 ** 16, 32)).toThrow(/use the CPU backend/);
  });
  // Per-invocation partial sums of `count` candidates (padded to whole blocks), in bytes.
  const partialBytes = (count: number, evals: number, tiles: number) =>
    Math.ceil(count / CANDIDATES_PER_GROUP) * CANDIDATES_PER_GROUP * evals * tiles * MIXING_WORKGROUP_SIZE * 4;
  it('splits candidates by binding size, grid size and work per dispatch', () => {
    const shape = { numSources: 3, vocabSize: 4096, numCandidates: 1000, numEvals: 5 };
    const chunks = [{ start: 0, end: 4096 }];
    const tiles = tilesFor(4096, 64);
    for (const [lim, maxCells] of [
      [{ maxStorageBufferBindingSize: partialBytes(48, 5, tiles), maxComputeWorkgroupsPerDimension: 65535 }, 2 ** 27],
      [{ maxStorageBufferBindingSize: 2 ** 27, maxComputeWorkgroupsPerDimension: 16 }, 2 ** 27],
      [limits, 4096 * 7],
    ] as const) {
      const ranges = planCandidateRanges(shape, chunks, lim, 64, maxCells);
      let next = 0;
      for (const r of ranges) {
        const count = r.end - r.start;
        expect(r.start).toBe(next);
        expect(partialBytes(count, shape.numEvals, tiles)).toBeLessThanOrEqual(lim.maxStorageBufferBindingSize);
        expect(count * 4096).toBeLessThanOrEqual(maxCells);
        expect(tiles * Math.ceil(count / CANDIDATES_PER_GROUP)).toBeLessThanOrEqual(lim.maxComputeWorkgroupsPerDimension ** 2);
        next = r.end;
      }
      expect(next).toBe(1000);
      expect(ranges.length).toBeGreaterThan(1);
    }
  });
});

describe.skipIf(!gpu.ctx)(`mixing GPU resources (${gpu.label})`, () => {
  it('compiles one pipeline for two batch sizes and is deterministic', async () => {
    const ctx = gpu.ctx!;
    const small = generate(20, { K: 5, V: 300, M: 3, E: 2 });
    const first = await mixtureLossesGpu(ctx, small);
    const compiled = ctx.pipelines.compiledCount;
    await mixtureLossesGpu(ctx, generate(21, { K: 9, V: 3000, M: 40, E: 5 }));
    expect(ctx.pipelines.compiledCount).toBe(compiled);
    expect(Array.from(await mixtureLossesGpu(ctx, small))).toEqual(Array.from(first));
  });
  it('an evaluator keeps P resident across batches and refuses use after destroy', async () => {
    const ctx = gpu.ctx!;
    const input = generate(22, { K: 4, V: 700, M: 6, E: 2 });
    const evaluator = new GpuMixtureEvaluator(ctx, input, input.distributions, input.evals);
    try {
      const all = await evaluator.evaluate(input.weights, 6);
      const tail = await evaluator.evaluate(input.weights.subarray(2 * 4), 4);
      expect(Array.from(tail)).toEqual(Array.from(all.subarray(2 * 2)));
      expectClose(all, referenceLosses(input), GPU_TOLERANCE);
    } finally {
      evaluator.destroy();
      evaluator.destroy();
    }
    await expect(evaluator.evaluate(input.weights, 6)).rejects.toThrow(/after destroy/);
  });
});
