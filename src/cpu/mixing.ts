/**
 * CPU oracle for the mixture-loss kernel (SPEC §3 smoothing, §4 validation losses, §5 batched
 * candidate evaluation). Written for clarity in f64, independently of shaders/mixing.wgsl.
 */
import { TokenmixError } from '../errors.js';

/** Floor applied to q(v) before the log (SPEC §4), so an eval token no source covers costs -log(1e-12). */
export const LOSS_FLOOR = 1e-12;

/** Default additive smoothing of SPEC §3. */
export const DEFAULT_EPS = 1e-9;

/**
 * SPEC §3: P_i(v) = (C_i(v) + eps) / (M_i + eps*V), rows of a K×V row-major matrix.
 * Counts as Float64Array (exact integers). A source with M_i = 0 comes out uniform (1/V); whether it
 * is *active* is the caller's business (SPEC §3: inactive sources get no weight).
 */
export function smoothedDistributions(
  counts: Float64Array,
  numSources: number,
  vocabSize: number,
  eps: number = DEFAULT_EPS,
): Float64Array {
  checkShape('counts', counts.length, numSources, vocabSize, 'numSources × vocabSize');
  if (!(eps >= 0) || !Number.isFinite(eps)) {
    throw new TokenmixError(`smoothing eps must be a finite number >= 0, got ${eps}`);
  }
  const distributions = new Float64Array(numSources * vocabSize);
  for (let source = 0; source < numSources; source++) {
    const row = source * vocabSize;
    let retainedMass = 0;
    for (let v = 0; v < vocabSize; v++) retainedMass += counts[row + v];
    const denominator = retainedMass + eps * vocabSize;
    if (denominator === 0) {
      throw new TokenmixError(
        `source ${source} has no retained tokens and eps = 0, so its distribution is undefined; use eps > 0 or drop the source`,
      );
    }
    for (let v = 0; v < vocabSize; v++) distributions[row + v] = (counts[row + v] + eps) / denominator;
  }
  return distributions;
}

export interface MixtureLossInput {
  /** P: numSources × vocabSize, row-major, each row a distribution over the vocabulary. */
  distributions: Float64Array | Float32Array;
  /** W: numCandidates × numSources, row-major mixture weights (used as given: no renormalization here). */
  weights: Float64Array | Float32Array;
  /** p_e: numEvals × vocabSize, row-major eval token distributions. */
  evals: Float64Array | Float32Array;
  numSources: number;
  vocabSize: number;
  numCandidates: number;
  numEvals: number;
}

/**
 * SPEC §4: L[m][e] = -sum_v evals[e][v] * log(max(q_m(v), 1e-12)), q_m(v) = sum_k weights[m][k] * P[k][v].
 * Row-major; returns numCandidates × numEvals in a Float64Array.
 */
export function mixtureLossesCpu(input: MixtureLossInput): Float64Array {
  validateMixtureInput(input);
  const { distributions, weights, evals, numSources, vocabSize, numCandidates, numEvals } = input;
  const losses = new Float64Array(numCandidates * numEvals);
  const mixture = new Float64Array(vocabSize);
  for (let candidate = 0; candidate < numCandidates; candidate++) {
    // q_m(v) = sum_k w[m][k] P[k][v], accumulated source by source (row-major friendly).
    mixture.fill(0);
    for (let source = 0; source < numSources; source++) {
      const weight = weights[candidate * numSources + source];
      if (weight === 0) continue;
      const row = source * vocabSize;
      for (let v = 0; v < vocabSize; v++) mixture[v] += weight * distributions[row + v];
    }
    for (let v = 0; v < vocabSize; v++) mixture[v] = Math.log(Math.max(mixture[v], LOSS_FLOOR));
    for (let evalIndex = 0; evalIndex < numEvals; evalIndex++) {
      const row = evalIndex * vocabSize;
      let crossEntropy = 0;
      // log q is finite (floored), so tokens the eval never uses contribute exactly 0.
      for (let v = 0; v < vocabSize; v++) crossEntropy -= evals[row + v] * mixture[v];
      losses[candidate * numEvals + evalIndex] = crossEntropy;
    }
  }
  return losses;
}

/** Shared by the CPU oracle and the GPU host so both reject the same inputs with the same message. */
export function validateMixtureInput(input: MixtureLossInput): void {
  const { numSources, vocabSize, numCandidates, numEvals } = input;
  for (const [name, value] of Object.entries({ numSources, vocabSize, numCandidates, numEvals })) {
    if (!Number.isInteger(value) || value < 0) {
      throw new TokenmixError(`mixture losses: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (numSources < 1 || vocabSize < 1) {
    throw new TokenmixError(
      `mixture losses need at least one source and one vocabulary entry (got ${numSources} sources, vocabulary ${vocabSize}); with no active source the mixture is undefined (SPEC §3)`,
    );
  }
  checkShape('distributions', input.distributions.length, numSources, vocabSize, 'numSources × vocabSize');
  checkShape('weights', input.weights.length, numCandidates, numSources, 'numCandidates × numSources');
  checkShape('evals', input.evals.length, numEvals, vocabSize, 'numEvals × vocabSize');
}

function checkShape(name: string, actual: number, rows: number, cols: number, shape: string): void {
  if (actual !== rows * cols) {
    throw new TokenmixError(
      `mixture: ${name} has ${actual} values but ${shape} = ${rows} × ${cols} = ${rows * cols}; pass a row-major matrix of that shape`,
    );
  }
}
