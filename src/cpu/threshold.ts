/**
 * Quality-score thresholding (SPEC §2 "Quality thresholding"): the shared types, input
 * validation, histogram geometry, the cross-batch accumulator, and the CPU oracle.
 *
 * The oracle is written from the spec with plain JavaScript comparisons and Math.fround;
 * the GPU path (src/kernels/threshold.ts, shaders/threshold*.wgsl) compares f32 bit
 * patterns as ordered integers instead, so the two are independent implementations.
 *
 * Exactness limits: per-source document counts and token sums, and every histogram bin,
 * are exact integers held in JS numbers, so they are exact up to 2^53 - 1 (about 9e15
 * tokens). Going past that throws a TokenmixError instead of silently rounding.
 */
import { TokenmixError } from '../errors.js';

/** One batch of scored documents: row r has `scores[r]`, `sources[r]`, `tokens[r]`. */
export interface ThresholdBatch {
  /** The quality score used for the cut; NaN means "no score" (never kept, counted apart). */
  scores: Float32Array;
  /** Source index of each row, < thresholds.length. */
  sources: Uint32Array;
  /** Token count T_r of each row. */
  tokens: Uint32Array;
}

/** Token-weighted score histogram settings, shared by all sources. */
export interface HistogramSpec {
  bins: number;
  min: number;
  max: number;
}

export interface ThresholdParams {
  /** tau_i per source, compared in f32 (SPEC §2: keep = score >= tau_source). */
  thresholds: Float32Array;
  histogram: HistogramSpec;
}

/** Per-source counts of one batch (or of many, once merged). All exact integers. */
export interface SourceThresholdCounts {
  /** Every row of the source, NaN scores included: inDocs = keptDocs + belowDocs + nanDocs. */
  inDocs: number;
  keptDocs: number;
  /** Rows with a NaN score (dropped with reason "no score"). */
  nanDocs: number;
  inTokens: number;
  keptTokens: number;
  nanTokens: number;
}

export interface ThresholdStats {
  numSources: number;
  bins: number;
  sources: SourceThresholdCounts[];
  /**
   * Token-weighted score histogram, row-major `[source * bins + bin]`: tokens of every row
   * with a non-NaN score, kept or not, so retained tokens can be read off for any threshold
   * (see src/filters/top-tokens.ts).
   */
  histogram: Float64Array;
}

/** Sums of ThresholdStats over many batches (same shape; see mergeThresholdStats). */
export type ThresholdTotals = ThresholdStats;

export interface ThresholdResult {
  /** 1 where the row is kept, else 0. */
  keepMask: Uint8Array;
  /** Rows kept, ascending. */
  keptIndices: Uint32Array;
  stats: ThresholdStats;
}

/**
 * The histogram in the f32 form both backends evaluate. The spec's
 * `bin = floor((s - min) / (max - min) * B)` is computed as
 * `floor(f32(f32(s - min) * scale))` with `scale = f32(B / (max - min))` rounded once on the
 * host: WGSL guarantees correctly rounded f32 subtraction and multiplication but allows
 * 2.5 ULP for division, so a per-row division could differ between GPU and CPU; the
 * subtraction and product are both correctly rounded on both sides (JS rounds the exact
 * double result with Math.fround, which is correct for one operation on f32 inputs).
 */
export interface ResolvedHistogram {
  bins: number;
  min: number;
  max: number;
  scale: number;
}

/** Largest bin count accepted (keeps bin indices exact in f32 and the histogram modest). */
export const MAX_HISTOGRAM_BINS = 1 << 16;
const SMALLEST_NORMAL_F32 = 2 ** -126;
/**
 * A larger scale would let f32 subnormals (which a GPU may flush to zero) change a bin;
 * below it a subnormal difference scales to < 2^-37 and lands in bin 0 either way.
 */
const MAX_HISTOGRAM_SCALE = 2 ** 64;

export function resolveHistogram(spec: HistogramSpec): ResolvedHistogram {
  const { bins } = spec;
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_HISTOGRAM_BINS) {
    throw new TokenmixError(`histogram.bins must be an integer in 1..${MAX_HISTOGRAM_BINS} (got ${bins})`);
  }
  const min = Math.fround(spec.min);
  const max = Math.fround(spec.max);
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) {
    throw new TokenmixError(
      `histogram range must be finite f32 numbers with min < max (got min ${spec.min}, max ${spec.max}); set histogram.min/max to cover the score range`,
    );
  }
  for (const [name, value] of [['min', min], ['max', max]] as const) {
    if (value !== 0 && Math.abs(value) < SMALLEST_NORMAL_F32) {
      throw new TokenmixError(`histogram.${name} ${value} is an f32 subnormal, which GPUs may flush to zero; use 0 or a normal number`);
    }
  }
  const scale = Math.fround(bins / (max - min));
  if (!(scale <= MAX_HISTOGRAM_SCALE)) {
    throw new TokenmixError(`histogram range [${min}, ${max}) is too narrow for ${bins} bins (bin width below 2^-64); widen it`);
  }
  if (scale < SMALLEST_NORMAL_F32) {
    throw new TokenmixError(`histogram range [${min}, ${max}) is too wide for ${bins} bins (bins / (max - min) is an f32 subnormal); narrow it or add bins`);
  }
  return { bins, min, max, scale };
}

/**
 * The bin of a non-NaN score: below min → 0, at or above max → B - 1, else
 * floor(f32(f32(s - min) * scale)) clamped to B - 1 (rounding can reach B just below max).
 */
export function scoreBin(score: number, h: ResolvedHistogram): number {
  if (score < h.min) return 0;
  if (score >= h.max) return h.bins - 1;
  const offset = Math.fround(score - h.min);
  const scaled = Math.fround(offset * h.scale);
  return Math.min(Math.floor(scaled), h.bins - 1) >>> 0;
}

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/** f32 values (not NaN) mapped to u32 so that integer order is numeric order; -0 maps like +0. */
function orderedKey(x: number): number {
  f32Bits[0] = x === 0 ? 0 : x;
  const bits = u32Bits[0];
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

function fromOrderedKey(key: number): number {
  u32Bits[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  return f32Bits[0];
}

/** The next f32 above `x` (x finite, not NaN). */
export function nextF32Up(x: number): number {
  // Key 0x7fffffff is -0, which orderedKey folds into +0: step over it.
  const key = orderedKey(x) + 1;
  return fromOrderedKey(key === 0x7fffffff ? key + 1 : key);
}

/** The next f32 below `x` (x finite, not NaN). */
export function nextF32Down(x: number): number {
  const key = orderedKey(x) - 1;
  return fromOrderedKey(key === 0x7fffffff ? key - 1 : key);
}

/**
 * The B + 1 bin edges as f32 values. edges[0] = min and edges[B] = max (bin 0 also holds
 * scores below min, bin B - 1 scores at or above max); every inner edge k is the smallest
 * f32 whose bin is >= k, so for k in 1..B-1, `score >= edges[k]` holds exactly when
 * `scoreBin(score) >= k` (the f32 formula's edges can sit ULPs away from the nominal
 * min + k (max - min) / B). Found by bisection over the ordered f32 keys (bins are
 * monotone in the score), 32 steps per edge.
 */
export function histogramEdges(spec: HistogramSpec): Float64Array {
  const h = resolveHistogram(spec);
  const edges = new Float64Array(h.bins + 1);
  edges[0] = h.min;
  edges[h.bins] = h.max;
  for (let k = 1; k < h.bins; k++) {
    // Invariant: bin(lo) < k <= bin(hi).
    let lo = orderedKey(h.min);
    let hi = orderedKey(h.max);
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (scoreBin(fromOrderedKey(mid), h) >= k) hi = mid;
      else lo = mid;
    }
    edges[k] = fromOrderedKey(hi);
  }
  return edges;
}

/** Host-side checks shared by both backends; returns the resolved histogram. */
export function validateThresholdInput(batch: ThresholdBatch, params: ThresholdParams): ResolvedHistogram {
  const { scores, sources, tokens } = batch;
  const n = scores.length;
  if (sources.length !== n || tokens.length !== n) {
    throw new TokenmixError(
      `threshold batch columns differ in length (scores ${n}, sources ${sources.length}, tokens ${tokens.length}); every row needs a score, a source and a token count`,
    );
  }
  const numSources = params.thresholds.length;
  if (numSources < 1) throw new TokenmixError('thresholds must list one threshold per source (got none)');
  for (let s = 0; s < numSources; s++) {
    if (Number.isNaN(params.thresholds[s])) {
      throw new TokenmixError(`threshold of source ${s} is NaN; use -Infinity to keep every scored document`);
    }
  }
  for (let row = 0; row < n; row++) {
    if (sources[row] >= numSources) {
      throw new TokenmixError(
        `row ${row} has source index ${sources[row]}, but only ${numSources} thresholds were given (valid: 0..${numSources - 1})`,
        { where: `row ${row}` },
      );
    }
  }
  return resolveHistogram(params.histogram);
}

function emptyCounts(): SourceThresholdCounts {
  return { inDocs: 0, keptDocs: 0, nanDocs: 0, inTokens: 0, keptTokens: 0, nanTokens: 0 };
}

export function createThresholdTotals(numSources: number, bins: number): ThresholdTotals {
  return {
    numSources,
    bins,
    sources: Array.from({ length: numSources }, emptyCounts),
    histogram: new Float64Array(numSources * bins),
  };
}

/** a + b, refusing to leave the range where numbers are exact integers. */
export function exactSum(a: number, b: number, what: string): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) {
    throw new TokenmixError(`${what} exceeds 2^53 - 1 (${sum}); counts are exact only below that, split the run and merge reports`);
  }
  return sum;
}

/** Add one batch's stats into running totals (mutates and returns `totals`). */
export function mergeThresholdStats(totals: ThresholdTotals, stats: ThresholdStats): ThresholdTotals {
  if (totals.numSources !== stats.numSources || totals.bins !== stats.bins) {
    throw new TokenmixError(
      `cannot merge threshold stats of ${stats.numSources} sources × ${stats.bins} bins into totals of ${totals.numSources} × ${totals.bins}; use the same thresholds and histogram for every batch`,
    );
  }
  const fields: (keyof SourceThresholdCounts)[] = ['inDocs', 'keptDocs', 'nanDocs', 'inTokens', 'keptTokens', 'nanTokens'];
  stats.sources.forEach((counts, s) => {
    for (const field of fields) totals.sources[s][field] = exactSum(totals.sources[s][field], counts[field], `source ${s} ${field}`);
  });
  for (let i = 0; i < totals.histogram.length; i++) {
    totals.histogram[i] = exactSum(totals.histogram[i], stats.histogram[i], 'a histogram bin');
  }
  return totals;
}

/** The CPU oracle: SPEC §2 thresholding, one row at a time. */
export function thresholdCpu(batch: ThresholdBatch, params: ThresholdParams): ThresholdResult {
  const histogramSpec = validateThresholdInput(batch, params);
  const { scores, sources, tokens } = batch;
  const { thresholds } = params;
  const stats = createThresholdTotals(thresholds.length, histogramSpec.bins);
  const keepMask = new Uint8Array(scores.length);
  const kept: number[] = [];
  for (let row = 0; row < scores.length; row++) {
    const score = scores[row];
    const source = sources[row];
    const rowTokens = tokens[row];
    const counts = stats.sources[source];
    counts.inDocs += 1;
    counts.inTokens = exactSum(counts.inTokens, rowTokens, `source ${source} inTokens`);
    if (Number.isNaN(score)) {
      counts.nanDocs += 1;
      counts.nanTokens = exactSum(counts.nanTokens, rowTokens, `source ${source} nanTokens`);
      continue;
    }
    const cell = source * histogramSpec.bins + scoreBin(score, histogramSpec);
    stats.histogram[cell] = exactSum(stats.histogram[cell], rowTokens, 'a histogram bin');
    // Both operands are f32 values, so comparing them as doubles is the f32 comparison.
    if (score >= thresholds[source]) {
      keepMask[row] = 1;
      kept.push(row);
      counts.keptDocs += 1;
      counts.keptTokens = exactSum(counts.keptTokens, rowTokens, `source ${source} keptTokens`);
    }
  }
  return { keepMask, keptIndices: Uint32Array.from(kept), stats };
}
