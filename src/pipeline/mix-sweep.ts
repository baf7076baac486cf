/**
 * The sweep as `tokenmix mix` reports it (SPEC §5): the GPU screens all candidates, then the
 * candidates that could be the best or on the Pareto front — given the GPU's float error —
 * are re-evaluated in f64 on the CPU, and only those exact numbers are reported. The result
 * is therefore the same as an all-CPU sweep, and the manifest stays byte-identical across
 * backends.
 *
 * Why the certified set suffices: a candidate left out is surely dominated (its objective
 * interval lies above another's, with no better repetition or contamination, which are exact);
 * following "surely dominated by" from any left-out candidate ends inside the set, so every
 * candidate the exact front would contain is in it.
 */
import type { Backend } from '../backend.js';
import { mixtureLosses } from '../kernels/mixing.js';
import { mixtureLossesCpu } from '../cpu/mixing.js';
import type { PreparedMixtureData } from '../mixture/data.js';
import { evaluateCandidates } from '../mixture/evaluate.js';
import { paretoFront, sweepMixtures } from '../mixture/sweep.js';
import type { MixtureConfig } from './mix-config.js';

/** Relative bound on |GPU − CPU| objective (the kernel is tested to 1e-5; 10× margin). */
export const SCREENING_TOLERANCE = 1e-4;

const round = (x: number) => Number(x.toPrecision(15));

export interface SweepReport {
  candidates: number;
  concentration: number;
  seed: number;
  best_within_epoch_cap: boolean;
  best: CandidateReport;
  pareto: CandidateReport[];
}

interface CandidateReport {
  index: number;
  weights: Record<string, number>;
  losses: Record<string, number>;
  objective: number;
  max_repetition: number;
  contamination_mass: number;
}

export async function certifiedSweep(
  prepared: PreparedMixtureData,
  sweep: NonNullable<MixtureConfig['sweep']>,
  options: { budgetTokens: number; evalWeights?: Record<string, number>; epochCap: number; backend: Backend },
): Promise<SweepReport> {
  const screened = await sweepMixtures(prepared, {
    candidates: sweep.candidates,
    concentration: sweep.concentration,
    seed: sweep.seed,
    budgetTokens: options.budgetTokens,
    evalWeights: options.evalWeights,
    maxEpochs: options.epochCap,
    lossFn: (input) => mixtureLosses(options.backend, input),
  });
  const n = screened.numCandidates;
  const g = screened.objective;
  const rep = screened.maxRepetition;
  const cont = screened.contaminationMass;
  const delta = (m: number) => SCREENING_TOLERANCE * Math.max(1, Math.abs(g[m]));
  const eligible = (m: number) => !screened.bestWithinEpochCap || !screened.exceedsEpochCap[m];

  const keep = new Set<number>();
  let bestUpper = Infinity;
  for (let m = 0; m < n; m++) if (eligible(m)) bestUpper = Math.min(bestUpper, g[m] + delta(m));
  for (let m = 0; m < n; m++) if (eligible(m) && g[m] - delta(m) <= bestUpper) keep.add(m);
  for (let m = 0; m < n; m++) {
    let surelyDominated = false;
    for (let k = 0; k < n && !surelyDominated; k++) {
      surelyDominated = k !== m && g[k] + delta(k) < g[m] - delta(m) && rep[k] <= rep[m] && cont[k] <= cont[m];
    }
    if (!surelyDominated) keep.add(m);
  }

  const chosen = [...keep].sort((a, b) => a - b);
  const K = prepared.numSources;
  const weights = new Float64Array(chosen.length * K);
  chosen.forEach((m, row) => weights.set(screened.weights.subarray(m * K, (m + 1) * K), row * K));
  const exact = await evaluateCandidates(prepared, weights, {
    budgetTokens: options.budgetTokens,
    evalWeights: options.evalWeights,
    maxEpochs: options.epochCap,
    lossFn: mixtureLossesCpu,
  });
  const describe = (row: number): CandidateReport => {
    const E = exact.evalNames.length;
    return {
      index: chosen[row],
      weights: Object.fromEntries(exact.sourceNames.map((s, i) => [s, round(exact.weights[row * K + i])])),
      losses: Object.fromEntries(exact.evalNames.map((e, j) => [e, round(exact.losses[row * E + j])])),
      objective: round(exact.objective[row]),
      max_repetition: round(exact.maxRepetition[row]),
      contamination_mass: round(exact.contaminationMass[row]),
    };
  };
  let best = -1;
  for (let row = 0; row < chosen.length; row++) {
    if (!eligible(chosen[row])) continue;
    if (best === -1 || exact.objective[row] < exact.objective[best]) best = row;
  }
  const front = paretoFront(exact.objective, exact.maxRepetition, exact.contaminationMass);
  return {
    candidates: n,
    concentration: sweep.concentration,
    seed: sweep.seed,
    best_within_epoch_cap: screened.bestWithinEpochCap,
    best: describe(best),
    pareto: front.map(describe),
  };
}
