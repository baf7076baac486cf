/**
 * Choose mixture weights (SPEC §5): minimize L(w) = sum_j lambda_j L_j(w) over the capped simplex
 * {sum w = 1, min_i <= w_i <= max_i, w_i <= rho_max·M_i/B}. Under the unigram proxy
 * L_j(w) = -sum_v p_j(v) log q(v) with q = sum_i w_i P_i is convex in w, so a first-order method
 * with a duality-gap certificate reaches the global optimum.
 *
 * Method: projected gradient = mirror descent with the Euclidean mirror map (the entropic map
 * of exponentiated gradient can never reach a face w_i = min_i, where optima often sit), with
 * Barzilai–Borwein steps and Armijo backtracking (SPG, Birgin–Martínez–Raydan 2000), stopped by
 * the Frank–Wolfe gap g·(w - s*) >= L(w) - L*, computed exactly on the capped simplex.
 * Gradient (analytic, f64): dL_j/dw_i = -sum_v p_j(v) P_i(v) / q(v).
 */
import { LOSS_FLOOR } from '../cpu/mixing.js';
import { TokenmixError } from '../errors.js';
import type { PreparedMixtureData } from './data.js';
import { normalizeEvalWeights } from './diagnostics.js';
import { checkBudget } from './evaluate.js';
import { checkCappedSimplex, linearMinimizerCappedSimplex, projectCappedSimplex } from './project.js';
import { checkKnownSources, checkWeightValues, weightRecord, type Weights } from './weights.js';

export interface ConstraintOptions {
  budgetTokens: number;
  /** rho_max: w_i <= rho_max·M_i/B. Default: no epoch cap. */
  maxEpochs?: number;
  /** Per-source minimum / maximum weights (sources not named: 0 / 1). */
  minWeights?: Weights;
  maxWeights?: Weights;
}

export interface OptimizeOptions extends ConstraintOptions {
  /** lambda_j by eval name; default equal; normalized to sum 1. */
  evalWeights?: Record<string, number>;
  /** Starting weights (projected onto the feasible set); default uniform over active sources. */
  start?: Weights;
  /** Stop when the duality gap (an upper bound on L(w) - L*) is below this. Default 1e-10. */
  tolerance?: number;
  maxIterations?: number;
}

export interface OptimizeResult {
  /** Optimal weights over the active sources. */
  weights: Weights;
  objective: number;
  losses: Record<string, number>;
  /** Certified bound on objective - optimum. */
  gap: number;
  iterations: number;
  converged: boolean;
  lower: Weights;
  upper: Weights;
}

/**
 * The optimization problem restricted to active sources (A of them) and to the vocabulary
 * columns where some eval distribution has mass (S of them): other columns do not enter any loss.
 */
export interface ReducedProblem {
  activeSources: string[];
  evalNames: string[];
  /** A×S smoothed source distributions on the eval support. */
  distributions: Float64Array;
  /** E×S eval distributions on the eval support. */
  evals: Float64Array;
  numActive: number;
  numColumns: number;
  numEvals: number;
  lower: Float64Array;
  upper: Float64Array;
}

export function reduceProblem(data: PreparedMixtureData, constraints: ConstraintOptions): ReducedProblem {
  checkBudget(constraints.budgetTokens);
  const { vocabSize, evalNames } = data;
  const active = data.sourceNames.flatMap((_, i) => (data.retainedTokens[i] > 0 ? [i] : []));
  const activeSources = active.map((i) => data.sourceNames[i]);
  if (active.length === 0) {
    throw new TokenmixError('mixture undefined: no source has retained tokens; loosen the filters/thresholds or add inputs');
  }
  const numEvals = evalNames.length;
  if (numEvals === 0) throw new TokenmixError('optimize: no evaluation sets to optimize for');
  const columns: number[] = [];
  for (let v = 0; v < vocabSize; v++) {
    for (let j = 0; j < numEvals; j++) {
      if (data.evalDistributions[j * vocabSize + v] > 0) {
        columns.push(v);
        break;
      }
    }
  }
  const numColumns = columns.length;
  const distributions = new Float64Array(active.length * numColumns);
  active.forEach((i, a) => columns.forEach((v, c) => (distributions[a * numColumns + c] = data.distributions[i * vocabSize + v])));
  const evals = new Float64Array(numEvals * numColumns);
  for (let j = 0; j < numEvals; j++) columns.forEach((v, c) => (evals[j * numColumns + c] = data.evalDistributions[j * vocabSize + v]));
  const { lower, upper } = weightBounds(data, active, constraints);
  return { activeSources, evalNames, distributions, evals, numActive: active.length, numColumns, numEvals, lower, upper };
}

/** Per-source bounds over the active sources; validates names, values and feasibility. */
function weightBounds(data: PreparedMixtureData, active: number[], constraints: ConstraintOptions) {
  const { minWeights = {}, maxWeights = {}, maxEpochs, budgetTokens } = constraints;
  for (const [weights, what] of [[minWeights, 'minWeights'], [maxWeights, 'maxWeights']] as const) {
    checkWeightValues(weights, `optimize ${what}`);
    checkKnownSources(weights, data.sourceNames, `optimize ${what}`);
  }
  if (maxEpochs !== undefined && !(maxEpochs > 0)) {
    throw new TokenmixError(`optimize: maxEpochs (rho_max) must be > 0 (got ${JSON.stringify(maxEpochs)})`);
  }
  data.sourceNames.forEach((name, i) => {
    if (data.retainedTokens[i] === 0 && (minWeights[name] ?? 0) > 0) {
      throw new TokenmixError(`infeasible weight bounds: source "${name}" has no retained tokens but a minimum weight ${minWeights[name]}`);
    }
  });
  const lower = Float64Array.from(active, (i) => minWeights[data.sourceNames[i]] ?? 0);
  const upper = Float64Array.from(active, (i) => {
    const cap = maxEpochs === undefined ? 1 : (maxEpochs * data.retainedTokens[i]) / budgetTokens;
    return Math.min(1, maxWeights[data.sourceNames[i]] ?? 1, cap);
  });
  checkCappedSimplex(lower, upper, active.map((i) => data.sourceNames[i]));
  return { lower, upper };
}

/** Per-eval losses, the lambda-weighted objective and its gradient at w (length A). */
export function lossesAndGradient(problem: ReducedProblem, w: ArrayLike<number>, lambdas: ArrayLike<number>) {
  const { distributions, evals, numActive, numColumns, numEvals } = problem;
  const q = new Float64Array(numColumns);
  for (let a = 0; a < numActive; a++) {
    if (w[a] === 0) continue;
    for (let c = 0; c < numColumns; c++) q[c] += w[a] * distributions[a * numColumns + c];
  }
  const losses = new Float64Array(numEvals);
  const slope = new Float64Array(numColumns); // r(c)/q(c): zero below the floor, where the loss is flat
  for (let c = 0; c < numColumns; c++) {
    const logQ = Math.log(Math.max(q[c], LOSS_FLOOR));
    let combined = 0;
    for (let j = 0; j < numEvals; j++) {
      const mass = evals[j * numColumns + c];
      losses[j] -= mass * logQ;
      combined += lambdas[j] * mass;
    }
    slope[c] = q[c] >= LOSS_FLOOR ? combined / q[c] : 0;
  }
  const gradient = new Float64Array(numActive);
  for (let a = 0; a < numActive; a++) {
    let sum = 0;
    for (let c = 0; c < numColumns; c++) sum += slope[c] * distributions[a * numColumns + c];
    gradient[a] = -sum;
  }
  let value = 0;
  for (let j = 0; j < numEvals; j++) value += lambdas[j] * losses[j];
  return { losses, value, gradient };
}

/** Minimize sum_j lambda_j L_j on the problem's capped simplex from `start` (SPG, see file comment). */
export function minimizeWeighted(
  problem: ReducedProblem,
  lambdas: ArrayLike<number>,
  start: ArrayLike<number>,
  tolerance = 1e-10,
  maxIterations = 10_000,
) {
  const { lower, upper } = problem;
  let w = projectCappedSimplex(start, lower, upper);
  let current = lossesAndGradient(problem, w, lambdas);
  let step = 1 / Math.max(maxAbs(current.gradient), 1e-12);
  let gap = Infinity;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    gap = dualityGap(current.gradient, w, lower, upper);
    if (gap <= tolerance) break;
    const trial = projectCappedSimplex(axpy(w, -step, current.gradient), lower, upper);
    let direction = subtract(trial, w);
    let slope = dot(current.gradient, direction);
    // A too-long BB step can round the projected direction into a non-descent one: fall back to Frank–Wolfe.
    if (!(slope < 0)) {
      direction = subtract(linearMinimizerCappedSimplex(current.gradient, lower, upper), w);
      slope = dot(current.gradient, direction);
    }
    let t = 1;
    let next = w;
    let nextEval = current;
    for (;;) {
      next = axpy(w, t, direction);
      nextEval = lossesAndGradient(problem, next, lambdas);
      if (nextEval.value <= current.value + 1e-4 * t * slope) break;
      t *= 0.5;
      if (t < 1e-20) return { weights: w, ...current, gap, iterations, converged: false };
    }
    const s = subtract(next, w);
    const y = subtract(nextEval.gradient, current.gradient);
    const sy = dot(s, y);
    step = sy > 0 ? Math.min(Math.max(dot(s, s) / sy, 1e-14), 1e14) : 1e14;
    w = next;
    current = nextEval;
  }
  return { weights: w, ...current, gap, iterations, converged: gap <= tolerance };
}

/** SPEC §5: the weights minimizing the lambda-weighted proxy loss under the given constraints. */
export function optimizeMixture(data: PreparedMixtureData, options: OptimizeOptions): OptimizeResult {
  const problem = reduceProblem(data, options);
  const lambdas = normalizeEvalWeights(data.evalNames, options.evalWeights);
  const start = startVector(problem, options.start, data.sourceNames);
  const result = minimizeWeighted(problem, lambdas, start, options.tolerance ?? 1e-10, options.maxIterations ?? 10_000);
  return {
    weights: weightRecord(result.weights, problem.activeSources),
    objective: result.value,
    losses: Object.fromEntries(problem.evalNames.map((name, j) => [name, result.losses[j]])),
    gap: result.gap,
    iterations: result.iterations,
    converged: result.converged,
    lower: weightRecord(problem.lower, problem.activeSources),
    upper: weightRecord(problem.upper, problem.activeSources),
  };
}

export function startVector(problem: ReducedProblem, start: Weights | undefined, sourceNames: readonly string[]): Float64Array {
  if (start === undefined) return new Float64Array(problem.numActive).fill(1 / problem.numActive);
  checkWeightValues(start, 'optimize start');
  checkKnownSources(start, sourceNames, 'optimize start');
  return Float64Array.from(problem.activeSources, (name) => start[name] ?? 0);
}

/** Frank–Wolfe gap g·(w - s*), s* the linear minimizer: an upper bound on L(w) - L* for convex L. */
export function dualityGap(gradient: ArrayLike<number>, w: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>): number {
  const s = linearMinimizerCappedSimplex(gradient, lower, upper);
  return Math.max(0, dot(gradient, subtract(w, s)));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
function subtract(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (x, i) => x - b[i]);
}
function axpy(x: ArrayLike<number>, scale: number, d: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (xi, i) => xi + scale * d[i]);
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
