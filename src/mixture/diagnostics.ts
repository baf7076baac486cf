/**
 * Per-source and per-mixture diagnostics of SPEC §4 as plain f64 functions: effective
 * distribution, objective, repetition pressure, unique tokens, data-constrained effective
 * tokens and contamination mass. Vectors are indexed by source (length K).
 */
import { TokenmixError } from '../errors.js';
import { own } from '../dict.js';

/**
 * R*_D of Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (NeurIPS),
 * eq. (5): the fitted "half-life" of repeated data, in epochs.
 */
export const DEFAULT_REPEAT_HALF_LIFE_EPOCHS = 15.4;

/**
 * Default epoch cap for warnings: Muennighoff et al. 2023 found up to ~4 epochs of repeated data
 * almost as useful as unique data, with value decaying quickly afterwards.
 */
export const DEFAULT_MAX_EPOCHS = 4;

/** SPEC §3: q(v) = sum_i w_i P_i(v) over a K×V row-major P. */
export function effectiveDistribution(
  distributions: Float64Array,
  weights: ArrayLike<number>,
  numSources: number,
  vocabSize: number,
): Float64Array {
  const mixture = new Float64Array(vocabSize);
  for (let source = 0; source < numSources; source++) {
    const weight = weights[source];
    if (weight === 0) continue;
    const row = source * vocabSize;
    for (let v = 0; v < vocabSize; v++) mixture[v] += weight * distributions[row + v];
  }
  return mixture;
}

/**
 * SPEC §4 objective weights lambda_j: default equal; given weights must be finite and >= 0 with a
 * positive sum, and are normalized to sum to 1 so objectives are comparable across eval sets.
 */
export function normalizeEvalWeights(evalNames: readonly string[], evalWeights?: Record<string, number>): Float64Array {
  if (evalNames.length === 0) throw new TokenmixError('no evaluation sets: give at least one eval text to compute losses');
  if (evalWeights === undefined) return new Float64Array(evalNames.length).fill(1 / evalNames.length);
  for (const [name, weight] of Object.entries(evalWeights)) {
    if (!evalNames.includes(name)) {
      throw new TokenmixError(`eval_weights: unknown eval set "${name}" (eval sets are: ${evalNames.join(', ')})`);
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new TokenmixError(`eval_weights: weight of "${name}" must be a finite number >= 0 (got ${JSON.stringify(weight)})`);
    }
  }
  const raw = evalNames.map((name) => own(evalWeights, name) ?? 0);
  const total = raw.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new TokenmixError('eval_weights: all weights are 0; give at least one eval set a positive weight');
  return Float64Array.from(raw, (weight) => weight / total);
}

/** SPEC §4: L = sum_j lambda_j L_j. */
export function objective(losses: ArrayLike<number>, lambdas: ArrayLike<number>, offset = 0): number {
  let sum = 0;
  for (let j = 0; j < lambdas.length; j++) sum += lambdas[j] * losses[offset + j];
  return sum;
}

/**
 * SPEC §4: rho_i = B · wbar_i / M_i, the expected number of epochs over source i's retained
 * tokens. An inactive source (M_i = 0, hence weight 0) has rho_i = 0.
 */
export function repetitionPressure(budgetTokens: number, weight: number, retainedTokens: number): number {
  if (retainedTokens === 0) return 0;
  return (budgetTokens * weight) / retainedTokens;
}

/** SPEC §4: expected distinct tokens seen when drawing rho·M tokens with replacement: M (1 - e^-rho). */
export function expectedUniqueTokens(retainedTokens: number, rho: number): number {
  return retainedTokens * -Math.expm1(-rho);
}

/**
 * Data-constrained effective tokens (Muennighoff et al. 2023, eq. 5): U unique tokens seen for
 * 1 + R epochs are worth D' = U + U · R* · (1 - exp(-R / R*)). With epoch-style sampling (each
 * epoch a permutation, as in the sampling plan of SPEC §6), rho <= 1 means rho·M distinct tokens
 * (U = rho·M, R = 0) and rho > 1 means U = M repeated R = rho - 1 extra epochs.
 */
export function effectiveTokens(
  retainedTokens: number,
  rho: number,
  halfLifeEpochs: number = DEFAULT_REPEAT_HALF_LIFE_EPOCHS,
): number {
  if (!(halfLifeEpochs > 0)) throw new TokenmixError(`repeat half-life R*_D must be > 0 (got ${halfLifeEpochs})`);
  if (rho <= 1) return rho * retainedTokens;
  const extraEpochs = rho - 1;
  return retainedTokens + retainedTokens * halfLifeEpochs * -Math.expm1(-extraEpochs / halfLifeEpochs);
}

/** SPEC §4: contamination mass sum_i wbar_i · leakTokens_i / M_i (inactive sources contribute 0). */
export function contaminationMass(
  weights: ArrayLike<number>,
  leakTokens: ArrayLike<number>,
  retainedTokens: ArrayLike<number>,
): number {
  let mass = 0;
  for (let i = 0; i < weights.length; i++) {
    if (retainedTokens[i] > 0) mass += (weights[i] * leakTokens[i]) / retainedTokens[i];
  }
  return mass;
}

/**
 * Turn eval-set token counts (one row of length V) into the distribution p_j of SPEC §4.
 * An eval set with no tokens has no distribution: that is an error naming the set.
 */
export function evalDistribution(tokenCounts: ArrayLike<number>, name = 'eval set'): Float64Array {
  let total = 0;
  for (let v = 0; v < tokenCounts.length; v++) {
    const count = tokenCounts[v];
    if (!(count >= 0) || !Number.isFinite(count)) {
      throw new TokenmixError(`${name}: token count at index ${v} must be a finite number >= 0 (got ${count})`);
    }
    total += count;
  }
  if (total === 0) throw new TokenmixError(`${name} has no tokens, so its loss is undefined; check the eval text file`);
  return Float64Array.from(tokenCounts, (count) => count / total);
}
