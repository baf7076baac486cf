/**
 * The two mixture laws of one eval domain and their least-squares fits (SPEC §5, last item).
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
 */
import { TokenmixError } from '../errors.js';
import { leastSquares } from './least-squares.js';
import { deriveSeed, splitMix32 } from './prng.js';
import { standardNormal } from './sweep.js';

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
