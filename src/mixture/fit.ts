/**
 * Mixture laws fitted to the user's own proxy-model runs (SPEC §5, last item).
 *
 * Input: a table of N runs, each a mixture r (K source weights, renormalized to sum 1) and the
 * measured loss on E eval domains (`parseExperimentsCsv`, format below).
 *
 * Models, per domain j, both fitted by least squares in f64:
 * - exponential mixing law L_j(r) = c_j + k_j · exp(sum_i t_ji r_i) (Ye et al. 2024, "Data
 *   Mixing Laws"). On the simplex (sum r = 1) adding δ to every t_ji and multiplying k_j by
 *   exp(-δ) gives the same function, so t_j is fitted and reported with mean 0 (K + 1 free
 *   parameters: c_j, k_j and t_j in the (K-1)-dimensional mean-zero subspace). Given t_j the law
 *   is linear in (c_j, k_j), so those are solved exactly and Levenberg–Marquardt searches t_j
 *   only (variable projection with Kaufman's Jacobian; Marquardt's diagonal scaling; each damped
 *   step solved by Householder QR on the augmented system). Full-parameter LM was tried first:
 *   most starts drifted to the degenerate limit k -> ∞, t -> 0 (the law turning linear) and
 *   wandered there for hundreds of iterations; with variable projection 7 of 8 starts reached
 *   the optimum in a few iterations. Starts are seeded, t_j ~ N(0, σ²) for σ = 0.5, 1, 2, 4, …;
 *   the lowest SSE wins (ties: the earlier start).
 * - linear baseline L_j(r) = a_j + b_j·r. Since sum r = 1 the intercept is collinear with the
 *   weight columns; we drop the intercept (Scheffé's mixture model L_j(r) = sum_i beta_ji r_i,
 *   beta_ji = the predicted loss of pure source i; a_j + b_j·r with a_j = beta_jK,
 *   b_ji = beta_ji - beta_jK is the same model with the last source column dropped).
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
import { checkCappedSimplex, linearMinimizerCappedSimplex, projectCappedSimplex } from './project.js';
import { deriveSeed, splitMix32 } from './prng.js';
import { sampleDirichlet, standardNormal } from './sweep.js';
import { checkKnownSources, checkWeightValues, weightRecord, type Weights } from './weights.js';

/**
 * Experiments CSV: a header row, then one row per run. Columns `w:<source>` hold the run's
 * mixture weights (>= 0, any scale: renormalized per row); columns `loss:<eval>` its measured
 * loss per eval domain; every other column (e.g. `run`) is ignored. Comma-separated, optional
 * double quotes around a cell ("" inside quotes is a quote), no line breaks inside cells; blank
 * lines are skipped. Example:
 *   run,w:web,w:code,loss:general,loss:code
 *   a,0.7,0.3,3.21,2.95
 */
export interface ExperimentTable {
  sourceNames: string[];
  evalNames: string[];
  numRuns: number;
  /** N×K weights, each row summing to 1. */
  weights: Float64Array;
  /** N×E measured losses. */
  losses: Float64Array;
  /** 1-based line number of each run in the file (for messages). */
  lines: number[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseExperimentsCsv(text: string, file = 'experiments.csv'): ExperimentTable {
  const rows = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((line, index) => ({ line: index + 1, cells: splitCsvLine(line, file, index + 1) }))
    .filter((row) => !(row.cells.length === 1 && row.cells[0].text.trim() === ''));
  if (rows.length === 0) throw new TokenmixError(`${file}: empty file; expected a header row with w:<source> and loss:<eval> columns`);
  const header = rows[0];
  const sourceColumns: number[] = [];
  const evalColumns: number[] = [];
  const seen = new Set<string>();
  header.cells.forEach((cell, index) => {
    const name = cell.text.trim();
    const where = `${file}:${header.line}:${cell.column}`;
    if (seen.has(name)) throw new TokenmixError(`${where}: column "${name}" appears twice; column names must be unique`);
    seen.add(name);
    for (const [prefix, columns] of [['w:', sourceColumns], ['loss:', evalColumns]] as const) {
      if (!name.startsWith(prefix)) continue;
      if (name.length === prefix.length) throw new TokenmixError(`${where}: column "${name}" has no name after "${prefix}"`);
      columns.push(index);
    }
  });
  const columnHint = 'the header needs w:<source> columns (mixture weights) and loss:<eval> columns (measured losses)';
  if (sourceColumns.length === 0) throw new TokenmixError(`${file}:${header.line}:1: no w:<source> column; ${columnHint}`);
  if (evalColumns.length === 0) throw new TokenmixError(`${file}:${header.line}:1: no loss:<eval> column; ${columnHint}`);
  const sourceNames = sourceColumns.map((c) => header.cells[c].text.trim().slice(2));
  const evalNames = evalColumns.map((c) => header.cells[c].text.trim().slice(5));
  const runs = rows.slice(1);
  if (runs.length === 0) throw new TokenmixError(`${file}: no runs after the header; add one row per proxy-model run`);
  const K = sourceNames.length;
  const E = evalNames.length;
  const weights = new Float64Array(runs.length * K);
  const losses = new Float64Array(runs.length * E);
  runs.forEach((row, n) => {
    if (row.cells.length !== header.cells.length) {
      const column = row.cells.length > header.cells.length ? row.cells[header.cells.length].column : row.cells[row.cells.length - 1].end;
      throw new TokenmixError(
        `${file}:${row.line}:${column}: ${row.cells.length} cells but the header has ${header.cells.length}; every run needs one cell per column`,
      );
    }
    const number = (c: number, what: string) => {
      const cell = row.cells[c];
      const value = cell.text.trim();
      if (!NUMBER.test(value)) {
        throw new TokenmixError(`${file}:${row.line}:${cell.column}: ${what} "${header.cells[c].text.trim()}" is ${JSON.stringify(cell.text)}, not a number`);
      }
      return Number(value);
    };
    let total = 0;
    sourceColumns.forEach((c, i) => {
      const value = number(c, 'weight');
      if (value < 0) throw new TokenmixError(`${file}:${row.line}:${row.cells[c].column}: weight "${header.cells[c].text.trim()}" is negative (${value}); weights must be >= 0`);
      weights[n * K + i] = value;
      total += value;
    });
    if (!(total > 0)) throw new TokenmixError(`${file}:${row.line}:${row.cells[sourceColumns[0]].column}: every weight of this run is 0; a run needs a mixture`);
    for (let i = 0; i < K; i++) weights[n * K + i] /= total;
    evalColumns.forEach((c, j) => (losses[n * E + j] = number(c, 'loss')));
  });
  return { sourceNames, evalNames, numRuns: runs.length, weights, losses, lines: runs.map((row) => row.line) };
}

interface CsvCell {
  text: string;
  /** 1-based column where the cell starts; `end` where it ends (for "missing cell" messages). */
  column: number;
  end: number;
}

function splitCsvLine(line: string, file: string, lineNumber: number): CsvCell[] {
  const cells: CsvCell[] = [];
  let position = 0;
  for (;;) {
    const start = position;
    let text = '';
    if (line[position] === '"') {
      position++;
      for (;;) {
        if (position >= line.length) throw new TokenmixError(`${file}:${lineNumber}:${start + 1}: unterminated quoted cell; close it with "`);
        if (line[position] === '"') {
          if (line[position + 1] === '"') {
            text += '"';
            position += 2;
            continue;
          }
          position++;
          break;
        }
        text += line[position++];
      }
      if (position < line.length && line[position] !== ',') {
        throw new TokenmixError(`${file}:${lineNumber}:${position + 1}: text after a closing quote; put the whole cell in quotes`);
      }
    } else {
      const comma = line.indexOf(',', position);
      position = comma === -1 ? line.length : comma;
      text = line.slice(start, position);
    }
    cells.push({ text, column: start + 1, end: position + 1 });
    if (position >= line.length) return cells;
    position++; // the comma
  }
}

/** Exponential law of one domain: c + k·exp(t·r), t with mean 0. */
export interface ExponentialLaw {
  c: number;
  k: number;
  t: Float64Array;
}

export function predictExponential(law: ExponentialLaw, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < law.t.length; i++) s += law.t[i] * r[i];
  return law.c + law.k * Math.exp(s);
}

export function predictLinear(beta: ArrayLike<number>, r: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < beta.length; i++) sum += beta[i] * r[i];
  return sum;
}

/**
 * min ||A x - y|| for A n×p row-major (n >= p) by Householder QR; null when A is rank-deficient
 * (|R_kk| <= 1e-10 · the largest column norm).
 */
export function leastSquares(matrix: ArrayLike<number>, rhs: ArrayLike<number>, n: number, p: number): Float64Array | null {
  if (n < p) return null;
  const a = Float64Array.from(matrix);
  const y = Float64Array.from(rhs);
  let scale = 0;
  for (let j = 0; j < p; j++) {
    let norm = 0;
    for (let i = 0; i < n; i++) norm += a[i * p + j] ** 2;
    scale = Math.max(scale, Math.sqrt(norm));
  }
  if (scale === 0) return null;
  const diagonal = new Float64Array(p);
  const v = new Float64Array(n);
  for (let k = 0; k < p; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[i * p + k] ** 2;
    norm = Math.sqrt(norm);
    const alpha = a[k * p + k] > 0 ? -norm : norm;
    diagonal[k] = alpha;
    if (Math.abs(alpha) <= 1e-10 * scale) return null;
    for (let i = k; i < n; i++) v[i] = a[i * p + k];
    v[k] -= alpha;
    let vv = 0;
    for (let i = k; i < n; i++) vv += v[i] * v[i];
    const reflect = (get: (i: number) => number, set: (i: number, x: number) => void) => {
      let s = 0;
      for (let i = k; i < n; i++) s += v[i] * get(i);
      s = (2 * s) / vv;
      for (let i = k; i < n; i++) set(i, get(i) - s * v[i]);
    };
    for (let j = k + 1; j < p; j++) reflect((i) => a[i * p + j], (i, x) => (a[i * p + j] = x));
    reflect((i) => y[i], (i, x) => (y[i] = x));
  }
  const x = new Float64Array(p);
  for (let k = p - 1; k >= 0; k--) {
    let s = y[k];
    for (let j = k + 1; j < p; j++) s -= a[k * p + j] * x[j];
    x[k] = s / diagonal[k];
  }
  return x;
}

export interface LawFitOptions {
  seed?: number;
  /** Random starts of Levenberg–Marquardt per fit (default 8). */
  restarts?: number;
  maxIterations?: number;
}

/**
 * Variable projection (Golub & Pereyra 1973): for a given t the law is linear in (c, k), so the
 * fit is a search over t alone, with (c, k) the exact least-squares solution for that t. `u` holds
 * the first K - 1 entries of the mean-zero t (the last is -sum u).
 */
class ProjectedLaw {
  readonly t: Float64Array;
  readonly e: Float64Array;
  readonly residual: Float64Array;
  c = 0;
  k = 0;
  sse = Infinity;
  /** sum_n (e_n - mean e)²: 0 when t is flat on these runs (then k is undetermined). */
  spread = 0;
  meanE = 0;

  constructor(private readonly x: Float64Array, private readonly y: Float64Array, readonly K: number) {
    this.t = new Float64Array(K);
    this.e = new Float64Array(y.length);
    this.residual = new Float64Array(y.length);
  }

  /** Set u, solve (c, k), and return the SSE (Infinity when exp overflows). */
  at(u: ArrayLike<number>): number {
    const { x, y, K, t, e, residual } = this;
    const N = y.length;
    t[K - 1] = 0;
    for (let i = 0; i < K - 1; i++) {
      t[i] = u[i];
      t[K - 1] -= u[i];
    }
    let meanE = 0;
    let meanY = 0;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let i = 0; i < K; i++) s += t[i] * x[n * K + i];
      e[n] = Math.exp(s);
      meanE += e[n] / N;
      meanY += y[n] / N;
    }
    let spread = 0;
    let cross = 0;
    for (let n = 0; n < N; n++) {
      spread += (e[n] - meanE) ** 2;
      cross += (e[n] - meanE) * (y[n] - meanY);
    }
    this.k = spread > 0 ? cross / spread : 0;
    this.c = meanY - this.k * meanE;
    this.spread = spread;
    this.meanE = meanE;
    let sse = 0;
    for (let n = 0; n < N; n++) sse += (residual[n] = y[n] - this.c - this.k * e[n]) ** 2;
    this.sse = Number.isFinite(sse) && Number.isFinite(spread) ? sse : Infinity;
    return this.sse;
  }

  /**
   * Kaufman's approximation of d residual / d u (N × (K-1) row-major): -P⊥ (dA/du_i) (c, k) with
   * A = [1, e]. It drops a term orthogonal to the residual, so its stationary points are exact.
   */
  jacobian(): Float64Array {
    const { x, e, K, k, meanE, spread } = this;
    const N = e.length;
    const jacobian = new Float64Array(N * (K - 1));
    const v = new Float64Array(N);
    for (let i = 0; i < K - 1; i++) {
      let meanV = 0;
      let along = 0;
      for (let n = 0; n < N; n++) {
        v[n] = k * e[n] * (x[n * K + i] - x[n * K + K - 1]);
        meanV += v[n] / N;
        along += (e[n] - meanE) * v[n];
      }
      const slope = spread > 0 ? along / spread : 0;
      for (let n = 0; n < N; n++) jacobian[n * (K - 1) + i] = -(v[n] - meanV - slope * (e[n] - meanE));
    }
    return jacobian;
  }
}

/** Levenberg–Marquardt over u from `start`; returns the lowest-SSE u reached and its law. */
function levenbergMarquardt(problem: ProjectedLaw, start: Float64Array, maxIterations: number) {
  const p = problem.K - 1;
  const N = problem.e.length;
  let u = Float64Array.from(start);
  let sse = problem.at(u);
  let damping = 1e-3;
  const augmented = new Float64Array((N + p) * p);
  const rhs = new Float64Array(N + p);
  for (let iteration = 0; iteration < maxIterations && sse > 0 && Number.isFinite(sse); iteration++) {
    problem.at(u); // the state of u (a rejected trial changed it)
    augmented.set(problem.jacobian());
    for (let n = 0; n < N; n++) rhs[n] = -problem.residual[n];
    const norms = new Float64Array(p);
    for (let n = 0; n < N; n++) for (let i = 0; i < p; i++) norms[i] += augmented[n * p + i] ** 2;
    const largest = Math.max(...norms);
    if (!(largest > 0)) break; // flat: nothing moves the fit
    let accepted = false;
    while (!accepted && damping < 1e16) {
      augmented.fill(0, N * p);
      for (let i = 0; i < p; i++) augmented[(N + i) * p + i] = Math.sqrt(damping * Math.max(norms[i], 1e-12 * largest));
      rhs.fill(0, N);
      const step = leastSquares(augmented, rhs, N + p, p);
      if (step === null) {
        damping *= 4; // nearly collinear columns and little damping: damp more
        continue;
      }
      const trial = Float64Array.from(u, (value, i) => value + step[i]);
      const trialSse = problem.at(trial);
      if (trialSse < sse) {
        const improvement = sse - trialSse;
        let stepSize = 0;
        for (let i = 0; i < p; i++) stepSize = Math.max(stepSize, Math.abs(step[i]) / (1 + Math.abs(u[i])));
        u = trial;
        sse = trialSse;
        damping = Math.max(damping / 3, 1e-12);
        accepted = true;
        // Converged: the SSE no longer changes in its 11th digit, or the step is at rounding level.
        if (improvement <= 1e-11 * sse || stepSize <= 1e-12) iteration = maxIterations;
      } else {
        damping *= 4;
      }
    }
    if (!accepted) break;
  }
  problem.at(u);
  return { law: { c: problem.c, k: problem.k, t: Float64Array.from(problem.t) }, sse };
}

/** Best-of-restarts exponential law on runs `rows` (see the file comment). */
export function fitExponentialLaw(
  weights: Float64Array,
  targets: Float64Array,
  rows: number[],
  K: number,
  options: LawFitOptions & { extraStarts?: ExponentialLaw[]; stream?: number[] } = {},
): { law: ExponentialLaw; sse: number } {
  if (K < 2) throw new TokenmixError('fit: a mixture law needs at least 2 sources (w:<source> columns)');
  const restarts = options.restarts ?? 8;
  const x = new Float64Array(rows.length * K);
  rows.forEach((n, r) => x.set(weights.subarray(n * K, (n + 1) * K), r * K));
  const problem = new ProjectedLaw(x, Float64Array.from(rows, (n) => targets[n]), K);
  // u of a law given in any gauge: t minus its mean.
  const starts = (options.extraStarts ?? []).map((law) => {
    const mean = law.t.reduce((s, v) => s + v, 0) / K;
    return Float64Array.from(law.t.subarray(0, K - 1), (v) => v - mean);
  });
  for (let attempt = 0; attempt < restarts; attempt++) {
    const random = splitMix32(deriveSeed(options.seed ?? 0, ...(options.stream ?? []), attempt));
    const sigma = 0.5 * 2 ** (attempt % 4);
    starts.push(Float64Array.from({ length: K - 1 }, () => sigma * standardNormal(random)));
  }
  let best: { law: ExponentialLaw; sse: number } | null = null;
  for (const start of starts) {
    const result = levenbergMarquardt(problem, start, options.maxIterations ?? 200);
    if (best === null || result.sse < best.sse) best = result;
  }
  if (best === null || !Number.isFinite(best.sse)) {
    throw new TokenmixError('fit: the exponential law could not be fitted (every start overflowed); check the loss columns');
  }
  return best;
}

/** Scheffé linear mixture model on runs `rows`: beta (length K), or null when the runs do not determine it. */
export function fitLinearLaw(weights: Float64Array, targets: Float64Array, rows: number[], K: number): Float64Array | null {
  const design = rows.flatMap((n) => Array.from(weights.subarray(n * K, (n + 1) * K)));
  return leastSquares(design, rows.map((n) => targets[n]), rows.length, K);
}

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
  const starts = [
    new Float64Array(K).fill(1 / K),
    ...sourceNames.map((_, i) => Float64Array.from({ length: K }, (__, x) => (x === i ? 1 : 0))),
    ...allRows.map((n) => Float64Array.from(row(n))),
  ];
  const randomStarts = sampleDirichlet(new Float64Array(K).fill(1), options.optimizerStarts ?? 16, deriveSeed(seed, 0x0f17));
  for (let s = 0; s < randomStarts.length / K; s++) starts.push(randomStarts.slice(s * K, (s + 1) * K));
  let best: { r: Float64Array; value: number; stationarity: number } | null = null;
  for (const start of starts) {
    const result = minimizeLaw(laws, lambdas, lower, upper, start);
    if (best === null || result.value < best.value) best = result;
  }
  const optimum = best!;

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
      starts: starts.length,
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
  const lower = Float64Array.from(sourceNames, (name) => minWeights[name] ?? 0);
  const upper = Float64Array.from(sourceNames, (name) => Math.min(1, maxWeights[name] ?? 1));
  checkCappedSimplex(lower, upper, sourceNames);
  return { lower, upper };
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
