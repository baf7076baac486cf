/**
 * Mixture laws fitted to the user's own proxy-model runs (SPEC §5, last item).
 *
 * Input: a table of N runs, each a mixture r (K source weights, renormalized to sum 1) and the
 * measured loss on E eval domains (`parseExperimentsCsv` in `experiments-csv.ts`, which gives the format).
 *
 * Models, per domain: the exponential mixing law and the linear baseline (`mixing-law.ts`).
 *
 * Held-out error: leave-one-out RMSE (each run predicted by both models refitted without it; the
 * exponential refits also start from the full-data fit).
 *
 * Optimization of the fitted law: minimize F(r) = sum_j lambda_j L_j(r) over the capped simplex
 * {sum r = 1, min_i <= r_i <= max_i}. exp(t·r) is convex, but a term with k_j < 0 is concave, so
 * F need not be convex: projected gradient descent (Euclidean projection `projectCappedSimplex`,
 * Armijo backtracking along the projection arc) from many starts — uniform, every vertex, every
 * observed run and seeded Dirichlet(1) points, all projected — keeping the lowest F.
 */
import { TokenmixError } from '../errors.js';
import { normalizeEvalWeights } from './diagnostics.js';
import type { ExperimentTable } from './experiments-csv.js';
import { fitExponentialLaw, fitLinearLaw, predictExponential, predictLinear, type ExponentialLaw, type LawFitOptions } from './mixing-law.js';
import { checkCappedSimplex, linearMinimizerCappedSimplex, projectCappedSimplex } from './project.js';
import { deriveSeed } from './prng.js';
import { sampleDirichlet } from './sweep.js';
import { checkKnownSources, checkWeightValues, weightRecord, type Weights } from './weights.js';
import { own } from '../dict.js';

// The public API of this module before it was split (re-exported by `index.ts`).
export { parseExperimentsCsv, type ExperimentTable } from './experiments-csv.js';
export { leastSquares } from './least-squares.js';
export { fitExponentialLaw, fitLinearLaw, predictExponential, predictLinear, type ExponentialLaw, type LawFitOptions } from './mixing-law.js';

export interface FitOptions extends LawFitOptions {
  /** lambda_j by eval name; default equal; normalized to sum 1. */
  evalWeights?: Record<string, number>;
  /** Per-source minimum / maximum weights of the optimized mixture (sources not named: 0 / 1). */
  minWeights?: Weights;
  maxWeights?: Weights;
  /** Seeded Dirichlet(1) starts of the law optimizer, besides uniform, vertices and runs (default 16). */
  optimizerStarts?: number;
}

export interface DomainFit {
  name: string;
  exponential: { c: number; k: number; t: Weights; trainRmse: number; looRmse: number };
  /** Scheffé coefficients beta_i (predicted loss of pure source i). */
  linear: { coefficients: Weights; trainRmse: number; looRmse: number };
}

export interface MixtureLawFit {
  sourceNames: string[];
  evalNames: string[];
  numRuns: number;
  evalWeights: Record<string, number>;
  domains: DomainFit[];
  lower: Weights;
  upper: Weights;
  /** Minimum of the fitted exponential law's objective sum_j lambda_j L_j(r) under the bounds. */
  optimum: {
    weights: Weights;
    predictedLosses: Record<string, number>;
    predictedObjective: number;
    /** max_i |r - P(r - ∇F)|_i at the optimum: 0 at a stationary point. */
    stationarity: number;
    starts: number;
  };
  /** The linear baseline's optimum (a vertex of the capped simplex: linear in r). */
  linearOptimum: { weights: Weights; predictedObjective: number };
  /** The run with the lowest measured objective. */
  bestObservedRun: { line: number; weights: Weights; measuredObjective: number; predictedObjective: number; withinBounds: boolean };
  warnings: string[];
}

/** SPEC §5: fit both laws per domain, leave-one-out errors, and optimize the exponential law. */
export function fitMixtureLaws(table: ExperimentTable, options: FitOptions = {}): MixtureLawFit {
  const { sourceNames, evalNames, numRuns: N, weights, lines } = table;
  const K = sourceNames.length;
  const E = evalNames.length;
  const seed = options.seed ?? 0;
  if (N < K + 2) {
    throw new TokenmixError(
      `fit: ${N} runs for ${K} sources; the exponential law has K + 1 = ${K + 1} parameters per domain and leave-one-out needs one more run, so give at least ${K + 2} runs`,
    );
  }
  sourceNames.forEach((name, i) => {
    if (!lines.some((_, n) => weights[n * K + i] > 0)) {
      throw new TokenmixError(`fit: source "${name}" has weight 0 in every run, so no law can say what it does; drop its column or add runs that use it`);
    }
  });
  const lambdas = normalizeEvalWeights(evalNames, options.evalWeights);
  const allRows = Array.from({ length: N }, (_, n) => n);
  const rmse = (errors: number[]) => Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
  const row = (n: number) => weights.subarray(n * K, (n + 1) * K);

  const laws: ExponentialLaw[] = [];
  const betas: Float64Array[] = [];
  const domains = evalNames.map((name, j): DomainFit => {
    const targets = Float64Array.from({ length: N }, (_, n) => table.losses[n * E + j]);
    const fitOptions = { ...options, seed };
    const { law } = fitExponentialLaw(weights, targets, allRows, K, { ...fitOptions, stream: [j] });
    const beta = fitLinearLaw(weights, targets, allRows, K);
    if (beta === null) {
      throw new TokenmixError(`fit: the runs' weight vectors are linearly dependent (${N} runs over ${K} sources span fewer than ${K} directions); add runs with different mixtures`);
    }
    const looExp: number[] = [];
    const looLin: number[] = [];
    for (const held of allRows) {
      const rest = allRows.filter((n) => n !== held);
      const heldLaw = fitExponentialLaw(weights, targets, rest, K, { ...fitOptions, stream: [j, held + 1], extraStarts: [law] }).law;
      looExp.push(predictExponential(heldLaw, row(held)) - targets[held]);
      const heldBeta = fitLinearLaw(weights, targets, rest, K);
      if (heldBeta === null) {
        throw new TokenmixError(`fit: without the run on line ${lines[held]} the other runs do not determine the linear model (it alone varies some source); add runs`);
      }
      looLin.push(predictLinear(heldBeta, row(held)) - targets[held]);
    }
    laws.push(law);
    betas.push(beta);
    return {
      name,
      exponential: {
        c: law.c,
        k: law.k,
        t: weightRecord(law.t, sourceNames),
        trainRmse: rmse(allRows.map((n) => predictExponential(law, row(n)) - targets[n])),
        looRmse: rmse(looExp),
      },
      linear: {
        coefficients: weightRecord(beta, sourceNames),
        trainRmse: rmse(allRows.map((n) => predictLinear(beta, row(n)) - targets[n])),
        looRmse: rmse(looLin),
      },
    };
  });

  const { lower, upper } = bounds(sourceNames, options);
  const objectiveAt = (r: ArrayLike<number>) => laws.reduce((s, law, j) => s + lambdas[j] * predictExponential(law, r), 0);
  const optimum = minimizeLawObjective(laws, lambdas, lower, upper, {
    seed,
    extraStarts: allRows.map((n) => Float64Array.from(row(n))),
    randomStarts: options.optimizerStarts,
  });

  const linearGradient = Float64Array.from({ length: K }, (_, i) => betas.reduce((s, beta, j) => s + lambdas[j] * beta[i], 0));
  const linearVertex = linearMinimizerCappedSimplex(linearGradient, lower, upper);
  const measured = allRows.map((n) => evalNames.reduce((s, _, j) => s + lambdas[j] * table.losses[n * E + j], 0));
  const bestRun = allRows.reduce((b, n) => (measured[n] < measured[b] ? n : b), 0);

  const warnings: string[] = [];
  sourceNames.forEach((name, i) => {
    const observed = allRows.map((n) => weights[n * K + i]);
    const [low, high] = [Math.min(...observed), Math.max(...observed)];
    if (optimum.r[i] > high + 1e-9 || optimum.r[i] < low - 1e-9) {
      warnings.push(
        `optimized weight of "${name}" (${optimum.r[i].toFixed(4)}) is outside the range of the runs (${low.toFixed(4)}–${high.toFixed(4)}): the fitted law extrapolates there; confirm with a run, or bound it with --min-weight/--max-weight`,
      );
    }
  });
  return {
    sourceNames,
    evalNames,
    numRuns: N,
    evalWeights: weightRecord(lambdas, evalNames),
    domains,
    lower: weightRecord(lower, sourceNames),
    upper: weightRecord(upper, sourceNames),
    optimum: {
      weights: weightRecord(optimum.r, sourceNames),
      predictedLosses: weightRecord(laws.map((law) => predictExponential(law, optimum.r)), evalNames),
      predictedObjective: optimum.value,
      stationarity: optimum.stationarity,
      starts: optimum.starts,
    },
    linearOptimum: { weights: weightRecord(linearVertex, sourceNames), predictedObjective: predictLinear(linearGradient, linearVertex) },
    bestObservedRun: {
      line: lines[bestRun],
      weights: weightRecord(row(bestRun), sourceNames),
      measuredObjective: measured[bestRun],
      predictedObjective: objectiveAt(row(bestRun)),
      withinBounds: Array.from(row(bestRun)).every((w, i) => w >= lower[i] - 1e-12 && w <= upper[i] + 1e-12),
    },
    warnings,
  };
}

function bounds(sourceNames: string[], options: FitOptions) {
  const { minWeights = {}, maxWeights = {} } = options;
  for (const [given, what] of [[minWeights, 'min weights'], [maxWeights, 'max weights']] as const) {
    checkWeightValues(given, `fit ${what}`);
    checkKnownSources(given, sourceNames, `fit ${what}`);
  }
  const lower = Float64Array.from(sourceNames, (name) => own(minWeights, name) ?? 0);
  const upper = Float64Array.from(sourceNames, (name) => Math.min(1, own(maxWeights, name) ?? 1));
  checkCappedSimplex(lower, upper, sourceNames);
  return { lower, upper };
}

/**
 * Minimum of F(r) = sum_j lambda_j L_j(r) over the capped simplex (the file comment's optimizer):
 * the best of projected gradient descents from uniform, every vertex, `extraStarts` and seeded
 * Dirichlet(1) points. Shared by `tokenmix fit` and `optimize.law` of `tokenmix mix`, so both
 * give the same optimum for the same law and bounds.
 */
export function minimizeLawObjective(
  laws: ExponentialLaw[],
  lambdas: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  options: { seed: number; extraStarts?: Float64Array[]; randomStarts?: number },
): { r: Float64Array; value: number; stationarity: number; starts: number } {
  const K = lower.length;
  const starts = [
    new Float64Array(K).fill(1 / K),
    ...Array.from({ length: K }, (_, i) => Float64Array.from({ length: K }, (__, x) => (x === i ? 1 : 0))),
    ...(options.extraStarts ?? []),
  ];
  const randomStarts = sampleDirichlet(new Float64Array(K).fill(1), options.randomStarts ?? 16, deriveSeed(options.seed, 0x0f17));
  for (let s = 0; s < randomStarts.length / K; s++) starts.push(randomStarts.slice(s * K, (s + 1) * K));
  let best: { r: Float64Array; value: number; stationarity: number } | null = null;
  for (const start of starts) {
    const result = minimizeLaw(laws, lambdas, lower, upper, start);
    if (best === null || result.value < best.value) best = result;
  }
  return { ...best!, starts: starts.length };
}

/**
 * Projected gradient descent of F(r) = sum_j lambda_j (c_j + k_j exp(t_j·r)) on the capped simplex
 * from `start`: Armijo backtracking along the projection arc, the step doubled after each success.
 * Stops when a step no longer moves r (a stationary point, local for non-convex F).
 */
function minimizeLaw(laws: ExponentialLaw[], lambdas: Float64Array, lower: Float64Array, upper: Float64Array, start: Float64Array) {
  const K = lower.length;
  const evaluate = (r: Float64Array) => {
    const gradient = new Float64Array(K);
    let value = 0;
    laws.forEach((law, j) => {
      const e = Math.exp(law.t.reduce((s, ti, i) => s + ti * r[i], 0));
      value += lambdas[j] * (law.c + law.k * e);
      for (let i = 0; i < K; i++) gradient[i] += lambdas[j] * law.k * e * law.t[i];
    });
    return { value, gradient };
  };
  let r = projectCappedSimplex(start, lower, upper);
  let current = evaluate(r);
  let step = 1;
  for (let iteration = 0; iteration < 5000 && step > 1e-30; iteration++) {
    const trial = projectCappedSimplex(Float64Array.from(r, (x, i) => x - step * current.gradient[i]), lower, upper);
    let decrease = 0;
    let moved = 0;
    for (let i = 0; i < K; i++) {
      decrease += current.gradient[i] * (trial[i] - r[i]);
      moved = Math.max(moved, Math.abs(trial[i] - r[i]));
    }
    if (moved === 0) break;
    const next = evaluate(trial);
    if (next.value <= current.value + 1e-4 * decrease) {
      r = trial;
      current = next;
      step *= 2;
    } else {
      step /= 2;
    }
  }
  const unitStep = projectCappedSimplex(Float64Array.from(r, (x, i) => x - current.gradient[i]), lower, upper);
  const stationarity = Math.max(...Array.from(r, (x, i) => Math.abs(x - unitStep[i])));
  return { r, value: current.value, stationarity };
}
