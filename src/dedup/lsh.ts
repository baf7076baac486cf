/**
 * LSH banding for near dedup (SPEC §2): the S-curve, the choice of b bands × r rows for a
 * Jaccard threshold, and the band keys that put documents into buckets.
 *
 * A signature of K slots is cut into b bands of r consecutive slots (b·r <= K; slots past
 * b·r are unused). Two documents whose true Jaccard similarity is s agree on one slot with
 * probability s, on a whole band with probability s^r, and share at least one bucket with
 *   P(s) = 1 − (1 − s^r)^b                                      (the S-curve).
 *
 * Choosing b, r (as datasketch's `_optimal_param`): minimise
 *   w_fp · ∫_0^t P(s) ds  +  w_fn · ∫_t^1 (1 − P(s)) ds
 * over all b >= 1, 1 <= r <= floor(K / b), scanning b then r in increasing order and keeping
 * the first strict minimum. Aimed at t = 0.8 with K = 128 and equal weights this gives the
 * reference tool's b = 9, r = 13, which finds a pair at exactly J = 0.8 only 40% of the time.
 * tokenmix therefore aims at t' = threshold − margin (default margin 0.2: b = 18, r = 7,
 * P(0.8) = 0.986, P(0.9) = 0.99999) and removes the extra candidates by verifying each one
 * (exact Jaccard by default): the margin buys recall, verification pays for the precision.
 */
import { TokenmixError } from '../errors.js';
import { fmix32, murmur3Round } from '../text/hash.js';

export interface LshWeights {
  falsePositive: number;
  falseNegative: number;
}

export const DEFAULT_WEIGHTS: Readonly<LshWeights> = Object.freeze({ falsePositive: 0.5, falseNegative: 0.5 });

/** Default distance between the threshold and the similarity the bands are tuned for. */
export const DEFAULT_MARGIN = 0.2;

/** P(s) = 1 − (1 − s^r)^b: probability that a pair of Jaccard s shares at least one bucket. */
export function collisionProbability(similarity: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(similarity, rows), bands);
}

/** Composite Simpson's rule on [lo, hi] with `intervals` (even) sub-intervals. */
export function integrate(f: (x: number) => number, lo: number, hi: number, intervals = 512): number {
  const grid = simpsonPoints(lo, hi, intervals);
  return simpsonSum(grid, grid.points, f);
}

/** FP area ∫_0^t P(s) ds: how much probability mass pairs below t have of becoming candidates. */
export function falsePositiveArea(threshold: number, bands: number, rows: number): number {
  return integrate((s) => collisionProbability(s, bands, rows), 0, threshold);
}

/** FN area ∫_t^1 (1 − P(s)) ds: how much pairs above t miss. */
export function falseNegativeArea(threshold: number, bands: number, rows: number): number {
  return integrate((s) => 1 - collisionProbability(s, bands, rows), threshold, 1);
}

export interface BandChoice {
  bands: number;
  rows: number;
  /** Weighted error at the aimed threshold. */
  error: number;
}

/**
 * datasketch's `_optimal_param`: the (b, r) minimising the weighted FP+FN area at `threshold`
 * (ties: fewer bands, then fewer rows). Each pair's areas are exactly falsePositiveArea's and
 * falseNegativeArea's (the same operations in the same order), with each sample point's s^r
 * computed once per r instead of once per (b, r): the plan for K = 128 took 250 ms of every
 * run's start, before the first work unit could be sent.
 */
export function optimalBands(threshold: number, numHashes: number, weights: LshWeights = DEFAULT_WEIGHTS): BandChoice {
  let best: BandChoice = { bands: 0, rows: 0, error: Infinity };
  const below = simpsonPoints(0, threshold);
  const above = simpsonPoints(threshold, 1);
  const belowPowers = new Float64Array(below.points.length);
  const abovePowers = new Float64Array(above.points.length);
  for (let rows = 1; rows <= numHashes; rows++) {
    below.points.forEach((s, i) => (belowPowers[i] = Math.pow(s, rows)));
    above.points.forEach((s, i) => (abovePowers[i] = Math.pow(s, rows)));
    for (let bands = 1; bands <= Math.floor(numHashes / rows); bands++) {
      // collisionProbability and its complement, from the powers.
      const falsePositive = simpsonSum(below, belowPowers, (power) => 1 - Math.pow(1 - power, bands));
      const falseNegative = simpsonSum(above, abovePowers, (power) => 1 - (1 - Math.pow(1 - power, bands)));
      const error = weights.falsePositive * falsePositive + weights.falseNegative * falseNegative;
      if (error < best.error || (error === best.error && bands < best.bands)) best = { bands, rows, error };
    }
  }
  return best;
}

/** The points Simpson's rule evaluates f at on [lo, hi], in the order it sums them: lo, hi, then lo + i·h. */
function simpsonPoints(lo: number, hi: number, intervals = 512): { points: Float64Array; h: number } {
  if (hi <= lo) return { points: new Float64Array(0), h: 0 };
  const n = intervals % 2 === 0 ? intervals : intervals + 1;
  const h = (hi - lo) / n;
  const points = new Float64Array(n + 1);
  points[0] = lo;
  points[1] = hi;
  for (let i = 1; i < n; i++) points[i + 1] = lo + i * h;
  return { points, h };
}

/** Simpson's sum over simpsonPoints' grid of f(args[k]), args[k] standing for the k-th point (integrate: the points themselves). */
function simpsonSum({ points, h }: { points: Float64Array; h: number }, args: Float64Array, f: (arg: number) => number): number {
  if (points.length === 0) return 0;
  let sum = f(args[0]) + f(args[1]);
  for (let i = 1; i < points.length - 1; i++) sum += f(args[i + 1]) * (i % 2 === 1 ? 4 : 2);
  return (sum * h) / 3;
}

/**
 * optimalBands' answers to the usual requests — K = 128 with equal weights, aimed at 0.5–0.7
 * (thresholds 0.7–0.9 less the default margin) or at 0.8 — so that a run does not spend its
 * first 75–140 ms computing them: the map's work units wait for the plan. Keyed by
 * bandChoiceKey; test/dedup/lsh.test.ts checks every entry against optimalBands.
 */
export const KNOWN_BAND_CHOICES: Readonly<Record<string, Readonly<BandChoice>>> = {
  '0.5:128:0.5:0.5': { bands: 25, rows: 5, error: 0.04373705032155502 },
  '0.55:128:0.5:0.5': { bands: 21, rows: 6, error: 0.04259904596154103 },
  '0.6:128:0.5:0.5': { bands: 18, rows: 7, error: 0.041562845545126625 },
  '0.65:128:0.5:0.5': { bands: 16, rows: 8, error: 0.0391139920111659 },
  '0.7:128:0.5:0.5': { bands: 14, rows: 9, error: 0.036254477812229895 },
  '0.8:128:0.5:0.5': { bands: 9, rows: 13, error: 0.02929699960064406 },
};

/** The key of a request in KNOWN_BAND_CHOICES. */
export function bandChoiceKey(threshold: number, numHashes: number, weights: LshWeights): string {
  return `${threshold}:${numHashes}:${weights.falsePositive}:${weights.falseNegative}`;
}

export interface LshPlan {
  bands: number;
  rows: number;
  /** The Jaccard threshold candidates are verified against. */
  threshold: number;
  /** Similarity the bands were tuned for (threshold − margin), or null when b, r were given. */
  aimedAt: number | null;
  weights: LshWeights | null;
  /** Areas measured at the verification threshold (not the aimed one). */
  falsePositiveArea: number;
  falseNegativeArea: number;
  /** P(s) at s = 0.5, 0.55, ..., 1 and at the threshold, rounded to 6 decimals. */
  sCurve: { similarity: number; probability: number }[];
}

export interface LshRequest {
  threshold: number;
  numHashes: number;
  bands?: number;
  rows?: number;
  margin?: number;
  weights?: LshWeights;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** S-curve points for the manifest and the CLI. */
export function sCurvePoints(bands: number, rows: number, extra: number[] = []): { similarity: number; probability: number }[] {
  const points = new Set<number>();
  for (let i = 0; i <= 10; i++) points.add(round6(0.5 + i * 0.05));
  for (const s of extra) points.add(round6(s));
  return [...points].sort((a, b) => a - b).map((similarity) => ({ similarity, probability: round6(collisionProbability(similarity, bands, rows)) }));
}

/** Resolve the user's request to b, r (validated) with the numbers worth showing. */
export function planLsh(request: LshRequest): LshPlan {
  const { threshold, numHashes } = request;
  if (!(threshold > 0 && threshold <= 1)) throw new TokenmixError(`--threshold must be a number in (0, 1] (got ${threshold})`);
  const given = request.bands !== undefined || request.rows !== undefined;
  let bands: number;
  let rows: number;
  let aimedAt: number | null = null;
  let weights: LshWeights | null = null;
  if (given) {
    if (request.bands === undefined || request.rows === undefined) throw new TokenmixError('--bands and --rows go together: give both, or neither (and --threshold picks them)');
    bands = request.bands;
    rows = request.rows;
    if (!Number.isInteger(bands) || !Number.isInteger(rows) || bands < 1 || rows < 1 || bands * rows > numHashes) {
      throw new TokenmixError(`--bands ${bands} × --rows ${rows} must be positive integers with bands × rows <= --num-hashes (${numHashes})`);
    }
  } else {
    const margin = request.margin ?? DEFAULT_MARGIN;
    if (!(margin >= 0 && margin < 1)) throw new TokenmixError(`--margin must be a number in [0, 1) (got ${margin})`);
    weights = request.weights ?? { ...DEFAULT_WEIGHTS };
    if (!(weights.falsePositive >= 0 && weights.falseNegative >= 0 && weights.falsePositive + weights.falseNegative > 0)) {
      throw new TokenmixError('--fp-weight and --fn-weight must be >= 0 and not both 0');
    }
    aimedAt = round6(Math.max(0.01, threshold - margin));
    ({ bands, rows } = KNOWN_BAND_CHOICES[bandChoiceKey(aimedAt, numHashes, weights)] ?? optimalBands(aimedAt, numHashes, weights));
  }
  return {
    bands,
    rows,
    threshold,
    aimedAt,
    weights,
    falsePositiveArea: round6(falsePositiveArea(threshold, bands, rows)),
    falseNegativeArea: round6(falseNegativeArea(threshold, bands, rows)),
    sCurve: sCurvePoints(bands, rows, [threshold, ...(aimedAt === null ? [] : [aimedAt])]),
  };
}

/** Seeds of the two 32-bit halves of a band key: fixed, part of the intermediate format. */
const BAND_KEY_SEED_HI = 0x62616e64; // "band"
const BAND_KEY_SEED_LO = 0x6b657973; // "keys"

/**
 * 64-bit bucket keys (two u32) of every band of every signature: for document d and band j,
 * MurmurHash3_x86_32 rounds over [j, sig[d][j·r], ..., sig[d][j·r + r − 1]] with two seeds.
 * The band index is hashed in, so buckets of different bands never meet; 64 bits make a
 * chance collision of unrelated keys negligible (10^9 keys: 0.03 expected colliding pairs).
 * Output: keys[2·(d·b + j)] = high half, keys[2·(d·b + j) + 1] = low half.
 */
export function bandKeys(signatures: Uint32Array, numHashes: number, bands: number, rows: number): Uint32Array {
  const docs = signatures.length / numHashes;
  const keys = new Uint32Array(docs * bands * 2);
  for (let d = 0; d < docs; d++) {
    const base = d * numHashes;
    for (let j = 0; j < bands; j++) {
      let hi = murmur3Round(BAND_KEY_SEED_HI, j);
      let lo = murmur3Round(BAND_KEY_SEED_LO, j);
      const start = base + j * rows;
      for (let k = start; k < start + rows; k++) {
        hi = murmur3Round(hi, signatures[k]);
        lo = murmur3Round(lo, signatures[k]);
      }
      const out = 2 * (d * bands + j);
      keys[out] = fmix32(hi ^ (4 * (rows + 1)));
      keys[out + 1] = fmix32(lo ^ (4 * (rows + 1)));
    }
  }
  return keys;
}
