/**
 * Euclidean projection onto the capped simplex {w : sum w = 1, lower <= w <= upper}, the feasible
 * set of SPEC §5 (per-source min/max weights and epoch caps). Used by the optimizer; also the
 * exact linear minimizer over that set, which gives the Frank–Wolfe duality gap.
 */
import { TokenmixError } from '../errors.js';

/** Throws a TokenmixError unless lower <= upper elementwise and sum(lower) <= 1 <= sum(upper). */
export function checkCappedSimplex(lower: ArrayLike<number>, upper: ArrayLike<number>, names?: readonly string[]): void {
  if (lower.length !== upper.length) {
    throw new TokenmixError(`capped simplex: ${lower.length} lower bounds but ${upper.length} upper bounds`);
  }
  if (lower.length === 0) throw new TokenmixError('capped simplex: no coordinates (no active source)');
  let lowerSum = 0;
  let upperSum = 0;
  for (let i = 0; i < lower.length; i++) {
    const name = names ? `source "${names[i]}"` : `coordinate ${i}`;
    if (!Number.isFinite(lower[i]) || !Number.isFinite(upper[i]) || !(upper[i] >= lower[i])) {
      throw new TokenmixError(
        `infeasible weight bounds: ${name} needs weight >= ${lower[i]} but at most ${upper[i]}; relax its minimum weight or its cap`,
      );
    }
    lowerSum += lower[i];
    upperSum += Math.min(upper[i], 1);
  }
  if (lowerSum > 1 + 1e-12) {
    throw new TokenmixError(`infeasible weight bounds: minimum weights sum to ${lowerSum} > 1; lower them`);
  }
  if (upperSum < 1 - 1e-12) {
    throw new TokenmixError(
      `infeasible weight bounds: maximum weights (including epoch caps rho_max·M_i/B) sum to ${upperSum} < 1; raise max weights or max epochs, or lower the budget`,
    );
  }
}

/**
 * argmin_w ||w - y||² subject to sum w = 1 and lower <= w <= upper. The solution is
 * w_i = clip(y_i - tau, lower_i, upper_i) where h(tau) = sum_i w_i(tau) = 1; h is piecewise linear
 * and non-increasing with breakpoints y_i - upper_i and y_i - lower_i, so tau is found exactly by
 * binary search over the sorted breakpoints and a linear solve inside the bracketing segment.
 */
export function projectCappedSimplex(
  y: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
): Float64Array {
  checkCappedSimplex(lower, upper);
  const n = y.length;
  if (lower.length !== n) throw new TokenmixError(`capped simplex: point has ${n} coordinates but bounds have ${lower.length}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) throw new TokenmixError(`capped simplex: coordinate ${i} of the point is ${y[i]}`);
  }
  const clipped = (tau: number) => {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = Math.min(Math.max(y[i] - tau, lower[i]), upper[i]);
    return w;
  };
  const total = (tau: number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.min(Math.max(y[i] - tau, lower[i]), upper[i]);
    return sum;
  };
  const breakpoints: number[] = [];
  for (let i = 0; i < n; i++) {
    breakpoints.push(y[i] - lower[i]);
    breakpoints.push(y[i] - upper[i]);
  }
  breakpoints.sort((a, b) => a - b);
  // h(first) = sum(min(upper, ...)) >= 1 and h(last) = sum(lower) <= 1: find the bracketing pair.
  let low = 0;
  let high = breakpoints.length - 1;
  if (total(breakpoints[low]) <= 1) return clipped(breakpoints[low]);
  if (total(breakpoints[high]) >= 1) return clipped(breakpoints[high]);
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (total(breakpoints[mid]) >= 1) low = mid;
    else high = mid;
  }
  const a = breakpoints[low];
  const b = breakpoints[high];
  const ha = total(a);
  const hb = total(b);
  const tau = ha === hb ? a : a + ((ha - 1) / (ha - hb)) * (b - a);
  return clipped(tau);
}

/**
 * argmin_{s in capped simplex} <g, s>: start at the lower bounds and pour the remaining mass into
 * the coordinates with the smallest gradient first (ties by index), each up to its upper bound.
 */
export function linearMinimizerCappedSimplex(
  g: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
): Float64Array {
  const n = g.length;
  const s = Float64Array.from(lower);
  let remaining = 1;
  for (let i = 0; i < n; i++) remaining -= lower[i];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => g[a] - g[b] || a - b);
  for (const i of order) {
    if (remaining <= 0) break;
    const add = Math.min(remaining, Math.min(upper[i], 1) - lower[i]);
    s[i] += add;
    remaining -= add;
  }
  return s;
}
