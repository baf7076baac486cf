import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../fixtures/random.js';
import type { Backend } from '../src/backend.js';
import {
  createThresholdTotals,
  histogramEdges,
  mergeThresholdStats,
  nextF32Down,
  nextF32Up,
  resolveHistogram,
  scoreBin,
  thresholdCpu,
  type SourceThresholdCounts,
  type ThresholdBatch,
  type ThresholdParams,
  type ThresholdResult,
} from '../src/cpu/threshold.js';
import { TokenmixError } from '../src/errors.js';
import { planThresholdRanges, threshold, thresholdGpu, type ThresholdGpuOptions } from '../src/kernels/threshold.js';
import { openTestGpu } from './helpers/gpu.js';

const gpu = await openTestGpu();
afterAll(() => gpu.ctx?.destroy());

const WG = 64;
const U32_MAX = 0xffffffff;
const cpuBackend: Backend = { kind: 'cpu', reason: 'test' };

function batchOf(rows: [score: number, source: number, tokens: number][]): ThresholdBatch {
  return {
    scores: Float32Array.from(rows.map((r) => r[0])),
    sources: Uint32Array.from(rows.map((r) => r[1])),
    tokens: Uint32Array.from(rows.map((r) => r[2])),
  };
}

/** Seeded rows with NaNs, infinities, ties with the thresholds, and large token counts. */
function generated(seed: number, rows: number, numSources: number, bins = 32): { batch: ThresholdBatch; params: ThresholdParams } {
  const random = rng(seed);
  const thresholds = Float32Array.from({ length: numSources }, () => random.normal());
  const specials = [NaN, Infinity, -Infinity, -0, 0, 2, -2];
  const batch: ThresholdBatch = { scores: new Float32Array(rows), sources: new Uint32Array(rows), tokens: new Uint32Array(rows) };
  for (let i = 0; i < rows; i++) {
    const source = random.int(numSources);
    const pick = random.next();
    batch.sources[i] = source;
    batch.scores[i] = pick < 0.05 ? specials[random.int(specials.length)] : pick < 0.1 ? thresholds[source] : random.normal();
    batch.tokens[i] = random.next() < 0.1 ? U32_MAX - random.int(16) : random.int(4000);
  }
  return { batch, params: { thresholds, histogram: { bins, min: -2, max: 2 } } };
}

/** What SPEC §2 says, written inline: keep = score >= tau[source], NaN never kept. */
function expectedKeep(batch: ThresholdBatch, params: ThresholdParams): number[] {
  const kept: number[] = [];
  batch.scores.forEach((score, row) => {
    if (score >= params.thresholds[batch.sources[row]]) kept.push(row);
  });
  return kept;
}

/** Index of the first difference between two integer sequences, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Accounting identities every result must satisfy (SPEC §2: kept + dropped = input). */
function checkConsistent(result: ThresholdResult, batch: ThresholdBatch, params: ThresholdParams): void {
  const kept = expectedKeep(batch, params);
  expect(firstDifference(result.keptIndices, kept)).toBe(-1);
  const mask = new Uint8Array(batch.scores.length);
  for (const row of kept) mask[row] = 1;
  expect(firstDifference(result.keepMask, mask)).toBe(-1);
  const rowsPerSource = new Array<number>(params.thresholds.length).fill(0);
  for (const source of batch.sources) rowsPerSource[source]++;
  const { bins } = result.stats;
  result.stats.sources.forEach((counts, s) => {
    expect(counts.inDocs).toBe(rowsPerSource[s]);
    let rowSum = 0;
    for (let b = 0; b < bins; b++) rowSum += result.stats.histogram[s * bins + b];
    expect(rowSum + counts.nanTokens).toBe(counts.inTokens);
    expect(counts.keptDocs + counts.nanDocs).toBeLessThanOrEqual(counts.inDocs);
  });
}

function expectIdentical(actual: ThresholdResult, expected: ThresholdResult): void {
  expect(Buffer.from(actual.keepMask).equals(Buffer.from(expected.keepMask))).toBe(true);
  expect(Buffer.from(actual.keptIndices.buffer, actual.keptIndices.byteOffset, actual.keptIndices.byteLength)
    .equals(Buffer.from(expected.keptIndices.buffer, expected.keptIndices.byteOffset, expected.keptIndices.byteLength))).toBe(true);
  expect(actual.stats.sources).toEqual(expected.stats.sources);
  expect(firstDifference(actual.stats.histogram, expected.stats.histogram)).toBe(-1);
}

const counts = (c: Partial<SourceThresholdCounts>): SourceThresholdCounts => ({
  inDocs: 0, keptDocs: 0, nanDocs: 0, inTokens: 0, keptTokens: 0, nanTokens: 0, ...c,
});

interface HandCase {
  name: string;
  batch: ThresholdBatch;
  params: ThresholdParams;
  keptIndices: number[];
  sources: SourceThresholdCounts[];
  /** Non-zero histogram cells as [source, bin, tokens]. */
  histogram: [number, number, number][];
}

const half = { bins: 4, min: 0, max: 1 }; // bin width 0.25, exact in f32
const handCases: HandCase[] = [
  {
    name: 'no rows',
    batch: batchOf([]),
    params: { thresholds: new Float32Array([0.5]), histogram: half },
    keptIndices: [],
    sources: [counts({})],
    histogram: [],
  },
  {
    name: 'one row equal to its threshold is kept',
    batch: batchOf([[0.5, 0, 7]]),
    params: { thresholds: new Float32Array([0.5]), histogram: half },
    keptIndices: [0],
    sources: [counts({ inDocs: 1, keptDocs: 1, inTokens: 7, keptTokens: 7 })],
    histogram: [[0, 2, 7]],
  },
  {
    name: 'NaN, ±Infinity, -0 and neighbours of the threshold',
    batch: batchOf([
      [NaN, 0, 100], // never kept, not in the histogram
      [Infinity, 0, 1], // kept, bin 3 (>= max)
      [-Infinity, 0, 2], // dropped, bin 0 (< min)
      [nextF32Down(0.5), 0, 4], // just below tau: dropped, bin 1
      [nextF32Up(0.5), 0, 8], // just above: kept, bin 2
      [-0, 1, 16], // -0 >= +0: kept, bin 0
      [0, 2, 32], // +0 >= -0: kept
      [-Infinity, 3, 64], // -inf >= -inf: kept
      [NaN, 3, 128], // NaN is not >= -inf
      [Infinity, 4, 256], // +inf >= +inf: kept
      [3.4e38, 4, 512], // finite < +inf: dropped, bin 3
    ]),
    params: { thresholds: new Float32Array([0.5, 0, -0, -Infinity, Infinity]), histogram: half },
    keptIndices: [1, 4, 5, 6, 7, 9],
    sources: [
      counts({ inDocs: 5, keptDocs: 2, nanDocs: 1, inTokens: 115, keptTokens: 9, nanTokens: 100 }),
      counts({ inDocs: 1, keptDocs: 1, inTokens: 16, keptTokens: 16 }),
      counts({ inDocs: 1, keptDocs: 1, inTokens: 32, keptTokens: 32 }),
      counts({ inDocs: 2, keptDocs: 1, nanDocs: 1, inTokens: 192, keptTokens: 64, nanTokens: 128 }),
      counts({ inDocs: 2, keptDocs: 1, inTokens: 768, keptTokens: 256 }),
    ],
    histogram: [[0, 3, 1], [0, 0, 2], [0, 1, 4], [0, 2, 8], [1, 0, 16], [2, 0, 32], [3, 0, 64], [4, 3, 768]],
  },
  {
    name: 'token sums past 2^32 carry into the high word',
    batch: batchOf(Array.from({ length: 3 * WG + 5 }, (_, i) => [i % 2 ? 0.9 : 0.1, 0, U32_MAX - (i % 3)] as [number, number, number])),
    params: { thresholds: new Float32Array([0.5]), histogram: half },
    keptIndices: Array.from({ length: 3 * WG + 5 }, (_, i) => i).filter((i) => i % 2),
    // 197 rows: 98 odd (kept, score 0.9, bin 3) and 99 even (score 0.1, bin 0); tokens
    // 2^32-1 minus (i mod 3), summed by hand per parity class.
    sources: [(() => {
      const rows = Array.from({ length: 197 }, (_, i) => i);
      const sum = (rs: number[]) => rs.reduce((a, i) => a + (U32_MAX - (i % 3)), 0);
      const odd = rows.filter((i) => i % 2);
      return counts({ inDocs: 197, keptDocs: 98, inTokens: sum(rows), keptTokens: sum(odd) });
    })()],
    histogram: [
      [0, 0, Array.from({ length: 99 }, (_, k) => U32_MAX - ((2 * k) % 3)).reduce((a, b) => a + b, 0)],
      [0, 3, Array.from({ length: 98 }, (_, k) => U32_MAX - ((2 * k + 1) % 3)).reduce((a, b) => a + b, 0)],
    ],
  },
];

interface GeneratedCase {
  name: string;
  seed: number;
  rows: number;
  numSources: number;
  options?: ThresholdGpuOptions;
}

const generatedCases: GeneratedCase[] = [
  { name: 'WG - 1 rows, 1 source', seed: 1, rows: WG - 1, numSources: 1 },
  { name: 'WG rows, 17 sources', seed: 2, rows: WG, numSources: 17 },
  { name: 'WG + 1 rows, 17 sources', seed: 3, rows: WG + 1, numSources: 17 },
  { name: 'three-level scan (64^3 + 1 rows) on a forced 2D grid', seed: 4, rows: WG ** 3 + 1, numSources: 17, options: { maxWorkgroupsPerDimension: 100 } },
  { name: 'several dispatch ranges on 4x4 grids', seed: 5, rows: 5003, numSources: 3, options: { maxBindingBytes: 4096, maxWorkgroupsPerDimension: 4 } },
  { name: 'more than 65535 workgroups on the real limit', seed: 6, rows: 65535 * WG + 1, numSources: 17 },
];

describe('thresholding conformance (cpu)', () => {
  it.each(handCases)('$name', ({ batch, params, keptIndices, sources, histogram }) => {
    const result = thresholdCpu(batch, params);
    expect(Array.from(result.keptIndices)).toEqual(keptIndices);
    expect(result.stats.sources).toEqual(sources);
    const cells = new Float64Array(result.stats.numSources * result.stats.bins);
    for (const [s, b, t] of histogram) cells[s * result.stats.bins + b] += t;
    expect(Array.from(result.stats.histogram)).toEqual(Array.from(cells));
    checkConsistent(result, batch, params);
  });
  it.each(generatedCases.filter((c) => c.rows < 1e6))('$name satisfies the accounting identities', ({ seed, rows, numSources }) => {
    const { batch, params } = generated(seed, rows, numSources);
    checkConsistent(thresholdCpu(batch, params), batch, params);
  });
});

describe.skipIf(!gpu.ctx)(`thresholding conformance (${gpu.label})`, () => {
  it.each(handCases)('$name', async ({ batch, params }) => {
    expectIdentical(await thresholdGpu(gpu.ctx!, batch, params), thresholdCpu(batch, params));
  });
  it.each(generatedCases)('$name: bit-identical to the CPU oracle', async ({ seed, rows, numSources, options }) => {
    const { batch, params } = generated(seed, rows, numSources);
    const actual = await thresholdGpu(gpu.ctx!, batch, params, undefined, options);
    const expected = thresholdCpu(batch, params);
    expectIdentical(actual, expected);
    if (rows < 1e6) checkConsistent(actual, batch, params);
  });
  it('compiles its pipelines once and reuses them for another batch size', async () => {
    const ctx = gpu.ctx!;
    await thresholdGpu(ctx, generated(7, 100, 2).batch, generated(7, 100, 2).params);
    const compiled = ctx.pipelines.compiledCount;
    const { batch, params } = generated(8, 5000, 5);
    await thresholdGpu(ctx, batch, params);
    expect(ctx.pipelines.compiledCount).toBe(compiled);
  });
  it('keeps the device healthy after a rejected batch', async () => {
    const bad = batchOf([[0.1, 0, 1], [0.2, 5, 1]]);
    await expect(thresholdGpu(gpu.ctx!, bad, { thresholds: new Float32Array([0]), histogram: half })).rejects.toThrow(/row 1 has source index 5/);
    gpu.ctx!.assertHealthy();
  });
});

describe('histogram bins in f32', () => {
  const specs = [
    { bins: 16, min: 0, max: 1 },
    { bins: 10, min: -0.3, max: 0.7 },
    { bins: 7, min: -1e6, max: 1e6 },
    // s - min overflows f32 to +inf above ~1.4e38: those scores go to the last bin, and
    // bins 55..62 are unreachable (their edges coincide).
    { bins: 64, min: -2e38, max: 2e38 },
  ];
  it('power-of-two widths land exactly on k / B', () => {
    const h = resolveHistogram(specs[0]);
    for (let k = 0; k < 16; k++) {
      expect(scoreBin(k / 16, h)).toBe(k);
      expect(scoreBin(nextF32Down((k + 1) / 16), h)).toBe(k);
    }
    expect(scoreBin(-5, h)).toBe(0);
    expect(scoreBin(1, h)).toBe(15);
    expect(scoreBin(Infinity, h)).toBe(15);
    expect(scoreBin(-0, h)).toBe(0);
  });
  it.each(specs)('edges of $bins bins over [$min, $max) are where the bin changes', (spec) => {
    const h = resolveHistogram(spec);
    const edges = histogramEdges(spec);
    expect(edges.length).toBe(spec.bins + 1);
    for (let k = 1; k < spec.bins; k++) {
      expect(scoreBin(edges[k], h)).toBeGreaterThanOrEqual(k);
      expect(scoreBin(nextF32Down(edges[k]), h)).toBeLessThan(k);
      const nominal = h.min + (k * (h.max - h.min)) / h.bins;
      if (nominal - h.min < 3.4e38) {
        expect(scoreBin(edges[k], h)).toBe(k);
        expect(Math.abs(edges[k] - nominal)).toBeLessThan((1e-5 * (h.max - h.min)) / h.bins);
      }
    }
  });
  it('refuses ranges whose f32 scale would be subnormal or huge', () => {
    expect(() => resolveHistogram({ bins: 3, min: -3e38, max: 3e38 })).toThrow(/too wide/);
    expect(() => resolveHistogram({ bins: 4, min: 1, max: 1 + 1e-8 })).toThrow(/min < max/);
    expect(() => resolveHistogram({ bins: 1 << 16, min: 0, max: 2 ** -60 })).toThrow(/too narrow/);
  });
  it.skipIf(!gpu.ctx).each(specs)('GPU bins equal CPU bins at every edge and its f32 neighbours ($bins bins)', async (spec) => {
    const edges = histogramEdges(spec);
    const scores: number[] = [];
    for (const edge of edges) scores.push(nextF32Down(nextF32Down(edge)), nextF32Down(edge), edge, nextF32Up(edge), nextF32Up(nextF32Up(edge)));
    // One source per score, so each histogram row shows where that score went.
    const batch = batchOf(scores.map((s, i) => [s, i, 1]));
    const params = { thresholds: new Float32Array(scores.length).fill(0), histogram: spec };
    expectIdentical(await thresholdGpu(gpu.ctx!, batch, params), thresholdCpu(batch, params));
  });
});

describe('batches, merging and limits', () => {
  const backends: [string, () => Backend | null][] = [
    ['cpu', () => cpuBackend],
    ['gpu', () => (gpu.ctx ? { kind: 'gpu', ctx: gpu.ctx } : null)],
  ];
  it.each(backends)('merging per-batch stats equals one pass over all rows (%s)', async (_, backendOf) => {
    const backend = backendOf();
    if (!backend) return expect(gpu.ctx).toBeNull();
    const { batch, params } = generated(9, 3000, 17);
    const whole = thresholdCpu(batch, params).stats;
    const totals = createThresholdTotals(17, params.histogram.bins);
    for (const [start, end] of [[0, 1000], [1000, 1001], [1001, 3000]]) {
      const part = { scores: batch.scores.subarray(start, end), sources: batch.sources.subarray(start, end), tokens: batch.tokens.subarray(start, end) };
      mergeThresholdStats(totals, (await threshold(backend, part, params)).stats);
    }
    expect(totals.sources).toEqual(whole.sources);
    expect(Array.from(totals.histogram)).toEqual(Array.from(whole.histogram));
  });
  it('counts past 2^53 are refused rather than rounded', () => {
    const totals = createThresholdTotals(1, 1);
    totals.sources[0].inTokens = 2 ** 53 - 10;
    const more = createThresholdTotals(1, 1);
    more.sources[0].inTokens = 10;
    expect(() => mergeThresholdStats(totals, more)).toThrow(/exceeds 2\^53/);
    expect(() => mergeThresholdStats(totals, createThresholdTotals(2, 1))).toThrow(TokenmixError);
  });
  it('plans ranges of whole workgroups within the binding and grid limits', () => {
    expect(planThresholdRanges(0, 4096, 65535)).toEqual([]);
    expect(planThresholdRanges(2049, 4096, 65535)).toEqual([{ start: 0, end: 1024 }, { start: 1024, end: 2048 }, { start: 2048, end: 2049 }]);
    expect(planThresholdRanges(1000, 1 << 27, 3)).toEqual([{ start: 0, end: 9 * WG }, { start: 9 * WG, end: 1000 }]);
  });
  const bad: [string, ThresholdBatch, Partial<ThresholdParams>, RegExp][] = [
    ['a source index out of range names the row', batchOf([[0, 0, 1], [0, 1, 1], [0, 2, 1]]), { thresholds: new Float32Array([0, 0]) }, /row 2 has source index 2.*valid: 0\.\.1/],
    ['columns of different lengths', { ...batchOf([[0, 0, 1]]), tokens: new Uint32Array(2) }, {}, /differ in length/],
    ['a NaN threshold', batchOf([]), { thresholds: new Float32Array([0, NaN]) }, /threshold of source 1 is NaN/],
    ['no thresholds', batchOf([]), { thresholds: new Float32Array(0) }, /one threshold per source/],
    ['zero bins', batchOf([]), { histogram: { bins: 0, min: 0, max: 1 } }, /histogram.bins/],
    ['an empty range', batchOf([]), { histogram: { bins: 4, min: 1, max: 1 } }, /min < max/],
    ['a subnormal bound', batchOf([]), { histogram: { bins: 4, min: 1e-40, max: 1 } }, /subnormal/],
  ];
  it.each(bad)('rejects %s with a TokenmixError', (_, batch, override, message) => {
    const params = { thresholds: new Float32Array([0]), histogram: half, ...override };
    expect(() => thresholdCpu(batch, params)).toThrow(TokenmixError);
    expect(() => thresholdCpu(batch, params)).toThrow(message);
  });
});
