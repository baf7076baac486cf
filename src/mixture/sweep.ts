/**
 * Candidate sweep (SPEC §5 "evaluate many candidate mixtures at once"): draw N mixtures from a
 * Dirichlet distribution around a prior, evaluate them in batches (one `lossFn` call per batch:
 * the CPU oracle by default, `(input) => mixtureLosses(backend, input)` for the GPU), and report
 * every candidate's objective, per-eval losses, max repetition pressure and contamination mass
 * (SPEC §4), the best candidate and the Pareto front of (objective ↓, max repetition ↓,
 * contamination ↓).
 *
 * Sampling: w ~ Dirichlet(concentration · prior) over the active sources, by normalizing
 * independent Gamma(alpha_i, 1) draws (Marsaglia & Tsang 2000, "A simple method for generating
 * gamma variables", with the U^(1/alpha) boost for alpha < 1, kept in log space so tiny alphas do
 * not underflow to an all-zero row). Candidate m uses its own stream deriveSeed(seed, m), so the
 * first n candidates of a larger sweep are the same as a sweep of n, and results do not depend on
 * the batch size.
 */
import { TokenmixError } from '../errors.js';
import type { PreparedMixtureData } from './data.js';
import { evaluateCandidates, type CandidateEvaluation, type LossFn } from './evaluate.js';
import { deriveSeed, splitMix32, type SeededRandom } from './prng.js';
import { checkKnownSources, normalizeWeights, weightRecord, weightVector, type Weights } from './weights.js';

/** Candidates per `lossFn` call unless told otherwise (one GPU dispatch at K = 16, V = 100k). */
export const DEFAULT_SWEEP_BATCH = 1024;

export interface SweepOptions {
  /** N: number of candidate mixtures to draw. */
  candidates: number;
  /** Dirichlet concentration alpha_0 = sum_i alpha_i: larger means closer to the prior. */
  concentration: number;
  /** Center of the Dirichlet (renormalized over active sources); default uniform. */
  prior?: Weights;
  /** Seed of the sampler (u32). */
  seed: number;
  /** Total training budget B in tokens (SPEC §4 repetition pressure). */
  budgetTokens: number;
  /** lambda_j by eval name; default equal; normalized to sum 1. */
  evalWeights?: Record<string, number>;
  /**
   * Epoch cap rho_max. When given, `best` is the lowest objective among candidates with every
   * rho_i <= rho_max (if any; see `bestWithinEpochCap`). Without it no cap filters `best`, and
   * the per-candidate `exceedsEpochCap` flags use the default cap of 4 epochs.
   */
  maxEpochs?: number;
  /** Loss evaluator; default the CPU oracle. */
  lossFn?: LossFn;
  /** Candidates per `lossFn` call (default DEFAULT_SWEEP_BATCH). */
  batchSize?: number;
}

/** One candidate's figures, by name. */
export interface SweepCandidate {
  index: number;
  weights: Weights;
  losses: Record<string, number>;
  objective: number;
  maxRepetition: number;
  contaminationMass: number;
}

export interface SweepResult extends CandidateEvaluation {
  /** Dirichlet parameters alpha_i by source (0 for inactive sources). */
  alpha: Weights;
  /** Number of `lossFn` calls made. */
  batches: number;
  best: SweepCandidate;
  /** False when maxEpochs was given but no candidate respected it (best is then the overall best). */
  bestWithinEpochCap: boolean;
  /**
   * Indices of the non-dominated candidates on (objective, maxRepetition, contaminationMass), all
   * minimized, ordered by objective, then max repetition, then contamination, then index.
   */
  paretoIndices: number[];
  pareto: SweepCandidate[];
}

/** SPEC §5: sample, evaluate and rank N candidate mixtures (see the file comment). */
export async function sweepMixtures(data: PreparedMixtureData, options: SweepOptions): Promise<SweepResult> {
  const { candidates, concentration, seed } = options;
  if (!Number.isInteger(candidates) || candidates < 1) {
    throw new TokenmixError(`sweep: candidates must be a positive integer (got ${JSON.stringify(candidates)})`);
  }
  if (typeof concentration !== 'number' || !Number.isFinite(concentration) || concentration <= 0) {
    throw new TokenmixError(`sweep: concentration must be a finite number > 0 (got ${JSON.stringify(concentration)})`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new TokenmixError(`sweep: seed must be an integer in [0, 2^32) (got ${JSON.stringify(seed)})`);
  }
  const batchSize = options.batchSize ?? DEFAULT_SWEEP_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TokenmixError(`sweep: batchSize must be a positive integer (got ${JSON.stringify(batchSize)})`);
  }
  if (options.maxEpochs !== undefined && !(options.maxEpochs > 0)) {
    throw new TokenmixError(`sweep: maxEpochs (rho_max) must be > 0 (got ${JSON.stringify(options.maxEpochs)})`);
  }
  const { sourceNames, activeSources, numSources } = data;
  if (options.prior !== undefined) checkKnownSources(options.prior, sourceNames, 'sweep prior');
  const prior = weightVector(normalizeWeights(options.prior ?? {}, activeSources, 'sweep prior'), sourceNames);
  const alpha = Float64Array.from(prior, (p) => concentration * p);

  const weights = sampleDirichlet(alpha, candidates, seed);
  const parts: CandidateEvaluation[] = [];
  for (let start = 0; start < candidates; start += batchSize) {
    const end = Math.min(candidates, start + batchSize);
    parts.push(
      await evaluateCandidates(data, weights.subarray(start * numSources, end * numSources), {
        budgetTokens: options.budgetTokens,
        evalWeights: options.evalWeights,
        maxEpochs: options.maxEpochs,
        lossFn: options.lossFn,
      }),
    );
  }
  const all = concatEvaluations(parts);

  const withinCap = options.maxEpochs === undefined ? null : all.exceedsEpochCap.map((exceeds) => !exceeds);
  const bestWithinEpochCap = withinCap === null || withinCap.some(Boolean);
  let bestIndex = -1;
  for (let m = 0; m < candidates; m++) {
    if (bestWithinEpochCap && withinCap !== null && !withinCap[m]) continue;
    if (bestIndex === -1 || all.objective[m] < all.objective[bestIndex]) bestIndex = m;
  }
  const paretoIndices = paretoFront(all.objective, all.maxRepetition, all.contaminationMass);
  return {
    ...all,
    alpha: weightRecord(alpha, sourceNames),
    batches: parts.length,
    best: describeCandidate(all, bestIndex),
    bestWithinEpochCap,
    paretoIndices,
    pareto: paretoIndices.map((m) => describeCandidate(all, m)),
  };
}

/**
 * M×K row-major Dirichlet(alpha) samples; coordinates with alpha_i = 0 are exactly 0. Rows sum
 * to 1 (up to rounding). Needs at least one alpha_i > 0.
 */
export function sampleDirichlet(alpha: ArrayLike<number>, count: number, seed: number): Float64Array {
  const numSources = alpha.length;
  for (let i = 0; i < numSources; i++) {
    if (!(alpha[i] >= 0) || !Number.isFinite(alpha[i])) {
      throw new TokenmixError(`Dirichlet: alpha[${i}] must be a finite number >= 0 (got ${alpha[i]})`);
    }
  }
  if (!Array.from({ length: numSources }, (_, i) => alpha[i]).some((a) => a > 0)) {
    throw new TokenmixError('Dirichlet: every alpha is 0; give at least one source positive prior weight');
  }
  const out = new Float64Array(count * numSources);
  const logs = new Float64Array(numSources);
  for (let m = 0; m < count; m++) {
    const random = splitMix32(deriveSeed(seed, m));
    let largest = -Infinity;
    for (let i = 0; i < numSources; i++) {
      logs[i] = alpha[i] > 0 ? logGammaVariate(alpha[i], random) : -Infinity;
      largest = Math.max(largest, logs[i]);
    }
    // Normalize exp(log G_i) relative to the largest so nothing overflows or underflows to all-zero.
    let total = 0;
    for (let i = 0; i < numSources; i++) total += out[m * numSources + i] = Math.exp(logs[i] - largest);
    for (let i = 0; i < numSources; i++) out[m * numSources + i] /= total;
  }
  return out;
}

/** Uniform double in (0, 1) with 53 random bits (never 0, so logs are finite). */
export function uniformOpen(random: SeededRandom): number {
  const high = random.nextU32() >>> 5; // 27 bits
  const low = random.nextU32() >>> 6; // 26 bits
  return (high * 67108864 + low + 0.5) / 9007199254740992;
}

/** Standard normal by Box–Muller (the cosine half only: one normal per two uniforms, simple and deterministic). */
export function standardNormal(random: SeededRandom): number {
  return Math.sqrt(-2 * Math.log(uniformOpen(random))) * Math.cos(2 * Math.PI * uniformOpen(random));
}

/**
 * log of a Gamma(shape, 1) variate. Marsaglia–Tsang for shape >= 1; for shape < 1,
 * G(shape) = G(shape + 1) · U^(1/shape), i.e. log G = log G(shape + 1) + log(U) / shape.
 */
export function logGammaVariate(shape: number, random: SeededRandom): number {
  if (shape < 1) return logGammaVariate(shape + 1, random) + Math.log(uniformOpen(random)) / shape;
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = standardNormal(random);
    const base = 1 + c * x;
    if (base <= 0) continue;
    const v = base * base * base;
    const u = uniformOpen(random);
    // Squeeze first (cheap), then the exact log test.
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
      return Math.log(d) + Math.log(v);
    }
  }
}

/**
 * Indices of the points not dominated on (a, b, c), all minimized: q dominates p when q <= p in
 * every coordinate and q < p in one. Sorting lexicographically puts every dominator of p before
 * p, and a dominated point is dominated by some front member, so each point is checked only
 * against the front found so far. Equal points do not dominate each other: both are kept.
 * Ordered by (a, b, c, index).
 */
export function paretoFront(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): number[] {
  const order = Array.from({ length: a.length }, (_, m) => m).sort((x, y) => a[x] - a[y] || b[x] - b[y] || c[x] - c[y] || x - y);
  const front: number[] = [];
  for (const p of order) {
    const dominated = front.some(
      (q) => a[q] <= a[p] && b[q] <= b[p] && c[q] <= c[p] && (a[q] < a[p] || b[q] < b[p] || c[q] < c[p]),
    );
    if (!dominated) front.push(p);
  }
  return front;
}

function describeCandidate(all: CandidateEvaluation, m: number): SweepCandidate {
  const { sourceNames, evalNames } = all;
  const K = sourceNames.length;
  const E = evalNames.length;
  return {
    index: m,
    weights: weightRecord(all.weights.subarray(m * K, (m + 1) * K), sourceNames),
    losses: weightRecord(all.losses.subarray(m * E, (m + 1) * E), evalNames),
    objective: all.objective[m],
    maxRepetition: all.maxRepetition[m],
    contaminationMass: all.contaminationMass[m],
  };
}

function concatEvaluations(parts: CandidateEvaluation[]): CandidateEvaluation {
  const first = parts[0];
  const join = (pick: (part: CandidateEvaluation) => Float64Array) => {
    const out = new Float64Array(parts.reduce((n, part) => n + pick(part).length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(pick(part), offset);
      offset += pick(part).length;
    }
    return out;
  };
  return {
    numCandidates: parts.reduce((n, part) => n + part.numCandidates, 0),
    sourceNames: first.sourceNames,
    evalNames: first.evalNames,
    weights: join((part) => part.weights),
    losses: join((part) => part.losses),
    objective: join((part) => part.objective),
    contaminationMass: join((part) => part.contaminationMass),
    repetition: join((part) => part.repetition),
    maxRepetition: join((part) => part.maxRepetition),
    exceedsEpochCap: parts.flatMap((part) => part.exceedsEpochCap),
  };
}
