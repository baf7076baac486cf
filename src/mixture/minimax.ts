/**
 * Minimax (DRO) mixture of SPEC §5: minimize the worst eval domain's excess loss over a reference
 * mixture, V* = min_w max_j [L_j(w) - L_j(ref)], on the capped simplex.
 *
 * DoReMi-style: domain weights alpha live on the simplex over evals and are updated
 * multiplicatively by the domains' excess losses (alpha_j ∝ alpha_j exp(eta·excess_j)); for each
 * alpha the mixture is the exact minimizer of sum_j alpha_j excess_j (the weighted objective, see
 * optimize.ts). By minimax duality g(alpha) = min_w sum_j alpha_j excess_j(w) <= V* <= max_j
 * excess_j(w) for every alpha and w, so the run stops with a certified gap. g is concave with
 * gradient excess(w*(alpha)) (Danskin), so multiplicative ascent with step halving converges.
 * Unlike DoReMi's training-time estimate, excess is not clipped at 0: once every domain beats the
 * reference the worst one keeps being pushed down.
 */
import type { PreparedMixtureData } from './data.js';
import { lossesAndGradient, minimizeWeighted, reduceProblem, startVector, type ConstraintOptions } from './optimize.js';
import { checkKnownSources, normalizeWeights, weightRecord, type Weights } from './weights.js';

export interface MinimaxOptions extends ConstraintOptions {
  /** Reference mixture for excess losses; default uniform over active sources. */
  reference?: Weights;
  start?: Weights;
  /** Stop when (upper bound - lower bound) on V* is below this. Default 1e-8. */
  tolerance?: number;
  maxRounds?: number;
}

export interface MinimaxResult {
  weights: Weights;
  losses: Record<string, number>;
  referenceLosses: Record<string, number>;
  /** L_j(w) - L_j(ref). */
  excess: Record<string, number>;
  /** max_j excess_j(w): the value attained (an upper bound on V*). */
  worstExcess: number;
  /** Best g(alpha) found: a lower bound on V*. */
  lowerBound: number;
  gap: number;
  /** Final DoReMi domain weights alpha. */
  domainWeights: Record<string, number>;
  rounds: number;
  converged: boolean;
}

export function minimaxMixture(data: PreparedMixtureData, options: MinimaxOptions): MinimaxResult {
  const problem = reduceProblem(data, options);
  const { numEvals, evalNames, activeSources } = problem;
  const tolerance = options.tolerance ?? 1e-8;
  const maxRounds = options.maxRounds ?? 2000;
  if (options.reference !== undefined) checkKnownSources(options.reference, data.sourceNames, 'minimax reference');
  const reference = normalizeWeights(options.reference ?? {}, activeSources, 'minimax reference');
  const referenceLosses = lossesAndGradient(problem, activeSources.map((name) => reference[name]), new Float64Array(numEvals)).losses;

  // Inner solve for given domain weights: the mixture and its per-domain excess losses.
  const innerTolerance = Math.min(1e-11, tolerance / 10);
  let warmStart = startVector(problem, options.start, data.sourceNames);
  const solve = (alpha: Float64Array) => {
    const inner = minimizeWeighted(problem, alpha, warmStart, innerTolerance);
    const excess = Float64Array.from(inner.losses, (loss, j) => loss - referenceLosses[j]);
    let weighted = 0;
    alpha.forEach((a, j) => (weighted += a * excess[j]));
    return { weights: inner.weights, losses: inner.losses, excess, lowerBound: weighted - inner.gap, worst: Math.max(...excess) };
  };

  let alpha = new Float64Array(numEvals).fill(1 / numEvals);
  let current = solve(alpha);
  let best = current;
  let lowerBound = current.lowerBound;
  let eta = 1;
  let rounds = 0;
  for (; rounds < maxRounds && best.worst - lowerBound > tolerance; rounds++) {
    // Multiplicative step on the domain weights, shifted by max excess for numerical range.
    const shift = current.worst;
    const proposal = Float64Array.from(alpha, (a, j) => a * Math.exp(eta * (current.excess[j] - shift)));
    const total = proposal.reduce((s, a) => s + a, 0);
    proposal.forEach((a, j) => (proposal[j] = a / total));
    warmStart = current.weights;
    const candidate = solve(proposal);
    if (candidate.worst < best.worst) best = candidate;
    if (candidate.lowerBound >= current.lowerBound) {
      alpha = proposal;
      current = candidate;
      lowerBound = Math.max(lowerBound, candidate.lowerBound);
      eta *= 1.5;
    } else {
      eta *= 0.5;
      if (eta < 1e-12) break;
    }
  }
  const record = (values: ArrayLike<number>) => Object.fromEntries(evalNames.map((name, j) => [name, values[j]]));
  return {
    weights: weightRecord(best.weights, activeSources),
    losses: record(best.losses),
    referenceLosses: record(referenceLosses),
    excess: record(best.excess),
    worstExcess: best.worst,
    lowerBound,
    gap: best.worst - lowerBound,
    domainWeights: record(alpha),
    rounds,
    converged: best.worst - lowerBound <= tolerance,
  };
}
