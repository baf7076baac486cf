/**
 * Evaluate one scheduled mixture (SPEC §3–§4) or many candidate mixtures at once (SPEC §5).
 * Losses go through a pluggable `LossFn` with the input of `mixtureLossesCpu` so the batched GPU
 * kernel (`mixtureLosses(backend, input)` in src/kernels/mixing.ts) can replace the CPU oracle.
 */
import { mixtureLossesCpu, type MixtureLossInput } from '../cpu/mixing.js';
import { TokenmixError } from '../errors.js';
import type { PreparedMixtureData } from './data.js';
import {
  contaminationMass,
  DEFAULT_MAX_EPOCHS,
  DEFAULT_REPEAT_HALF_LIFE_EPOCHS,
  effectiveDistribution,
  effectiveTokens,
  expectedUniqueTokens,
  normalizeEvalWeights,
  objective,
  repetitionPressure,
} from './diagnostics.js';
import {
  checkKnownSources,
  normalizeWeights,
  stageWeights,
  validateSchedule,
  weightRecord,
  weightVector,
  type Schedule,
  type Weights,
} from './weights.js';
import { own } from '../dict.js';

/** M×E losses for M candidate weight rows (SPEC §4); CPU oracle by default, GPU when plugged in. */
export type LossFn = (input: MixtureLossInput) => Float64Array | Promise<Float64Array>;

export interface DiagnosticOptions {
  /** Total training budget B in tokens (SPEC §4). */
  budgetTokens: number;
  /** lambda_j by eval name; default equal; normalized to sum 1. */
  evalWeights?: Record<string, number>;
  /** Epoch cap: a warning when rho_i exceeds it (default 4). */
  maxEpochs?: number;
  /** R*_D of the data-constrained effective-token formula (default 15.4). */
  repeatHalfLifeEpochs?: number;
}

export interface MixtureWarning {
  kind: 'epoch-cap' | 'inactive-source-weight' | 'zero-weights-uniform';
  /** The source concerned (empty for a whole-stage warning). */
  source: string;
  message: string;
}

export interface SourceDiagnostics {
  name: string;
  active: boolean;
  retainedTokens: number;
  retainedDocs: number;
  leakTokens: number;
  /** wbar_i (0 for inactive sources). */
  weight: number;
  /** w^(s)_i per stage. */
  stageWeights: number[];
  /** rho_i = B wbar_i / M_i. */
  repetition: number;
  /** Tokens of the budget drawn from this source: B · wbar_i. */
  sampledTokens: number;
  expectedUniqueTokens: number;
  effectiveTokens: number;
  /** This source's term wbar_i · leak_i / M_i of the contamination mass. */
  contamination: number;
}

export interface StageDiagnostics {
  name?: string;
  fraction: number;
  weights: Weights;
  /** L_j under the stage's own distribution q_s. */
  losses: Record<string, number>;
  objective: number;
  /** q_s(v) = sum_i w^(s)_i P_i(v), length V. */
  effectiveDistribution: Float64Array;
}

export interface MixtureEvaluation {
  /** wbar over active sources. */
  weights: Weights;
  losses: Record<string, number>;
  objective: number;
  /** Normalized lambda_j. */
  evalWeights: Record<string, number>;
  contaminationMass: number;
  sources: SourceDiagnostics[];
  stages: StageDiagnostics[];
  /** q(v) = sum_i wbar_i P_i(v), length V. */
  effectiveDistribution: Float64Array;
  warnings: MixtureWarning[];
}

/** Evaluate a schedule on prepared data with the CPU loss oracle (one candidate: cheap). */
export function evaluateMixture(data: PreparedMixtureData, schedule: Schedule, options: DiagnosticOptions): MixtureEvaluation {
  const { sourceNames, activeSources, numSources, vocabSize, evalNames } = data;
  checkBudget(options.budgetTokens);
  validateSchedule(schedule);
  schedule.forEach((stage, s) => checkKnownSources(stage.weights, sourceNames, `schedule stage ${s} weights`));
  const perStage = stageWeights(schedule, activeSources);
  const stageVectors = perStage.map((weights) => weightVector(weights, sourceNames));
  const average = new Float64Array(numSources);
  stageVectors.forEach((vector, s) => vector.forEach((w, i) => (average[i] += schedule[s].fraction * w)));
  const lambdas = normalizeEvalWeights(evalNames, options.evalWeights);

  // Candidate 0 is wbar; candidates 1..S are the stages, all in one loss call.
  const candidates = [average, ...stageVectors];
  const weights = new Float64Array(candidates.length * numSources);
  candidates.forEach((vector, m) => weights.set(vector, m * numSources));
  const losses = mixtureLossesCpu(lossInput(data, weights, candidates.length));
  const numEvals = evalNames.length;
  const lossRecord = (m: number) => Object.fromEntries(evalNames.map((name, j) => [name, losses[m * numEvals + j]]));

  const warnings: MixtureWarning[] = [];
  schedule.forEach((stage, s) => {
    // SPEC §3: weights summing to 0 make the mixture uniform; say so instead of doing it silently.
    if (activeSources.every((name) => (own(stage.weights, name) ?? 0) === 0)) {
      const label = stage.name === undefined ? `schedule stage ${s}` : `schedule stage ${s} ("${stage.name}")`;
      warnings.push({
        kind: 'zero-weights-uniform',
        source: '',
        message: `${label} gives every active source weight 0: it was made uniform over ${activeSources.join(', ')} (give it weights to choose the mixture)`,
      });
    }
  });
  const maxEpochs = options.maxEpochs ?? DEFAULT_MAX_EPOCHS;
  const halfLife = options.repeatHalfLifeEpochs ?? DEFAULT_REPEAT_HALF_LIFE_EPOCHS;
  const sources = sourceNames.map((name, i): SourceDiagnostics => {
    const retainedTokens = data.retainedTokens[i];
    const rho = repetitionPressure(options.budgetTokens, average[i], retainedTokens);
    if (rho > maxEpochs) {
      warnings.push({
        kind: 'epoch-cap',
        source: name,
        message: `source "${name}" is repeated ${rho.toFixed(2)} epochs (rho = B·w/M) > cap ${maxEpochs}; lower its weight or the budget, or retain more of its tokens`,
      });
    }
    if (retainedTokens === 0 && schedule.some((stage) => (own(stage.weights, name) ?? 0) > 0)) {
      warnings.push({
        kind: 'inactive-source-weight',
        source: name,
        message: `source "${name}" has no retained tokens: its weight was dropped and the others renormalized`,
      });
    }
    return {
      name,
      active: retainedTokens > 0,
      retainedTokens,
      retainedDocs: data.retainedDocs[i],
      leakTokens: data.leakTokens[i],
      weight: average[i],
      stageWeights: stageVectors.map((vector) => vector[i]),
      repetition: rho,
      sampledTokens: options.budgetTokens * average[i],
      expectedUniqueTokens: expectedUniqueTokens(retainedTokens, rho),
      effectiveTokens: effectiveTokens(retainedTokens, rho, halfLife),
      contamination: retainedTokens > 0 ? (average[i] * data.leakTokens[i]) / retainedTokens : 0,
    };
  });

  return {
    weights: weightRecord(average.filter((_, i) => data.retainedTokens[i] > 0), activeSources),
    losses: lossRecord(0),
    objective: objective(losses, lambdas, 0),
    evalWeights: Object.fromEntries(evalNames.map((name, j) => [name, lambdas[j]])),
    contaminationMass: contaminationMass(average, data.leakTokens, data.retainedTokens),
    sources,
    stages: schedule.map((stage, s) => ({
      ...(stage.name === undefined ? {} : { name: stage.name }),
      fraction: stage.fraction,
      weights: perStage[s],
      losses: lossRecord(s + 1),
      objective: objective(losses, lambdas, (s + 1) * numEvals),
      effectiveDistribution: effectiveDistribution(data.distributions, stageVectors[s], numSources, vocabSize),
    })),
    effectiveDistribution: effectiveDistribution(data.distributions, average, numSources, vocabSize),
    warnings,
  };
}

export interface CandidateOptions extends DiagnosticOptions {
  /** Loss evaluator; default the CPU oracle. Plug `(input) => mixtureLosses(backend, input)` for the GPU. */
  lossFn?: LossFn;
}

export interface CandidateEvaluation {
  numCandidates: number;
  sourceNames: string[];
  evalNames: string[];
  /** M×K weights after renormalization over active sources (SPEC §3). */
  weights: Float64Array;
  /** M×E losses. */
  losses: Float64Array;
  objective: Float64Array;
  contaminationMass: Float64Array;
  /** M×K rho_i. */
  repetition: Float64Array;
  /** Largest rho_i per candidate and whether it exceeds the epoch cap. */
  maxRepetition: Float64Array;
  exceedsEpochCap: boolean[];
}

/**
 * SPEC §5: evaluate M constant mixtures at once. `weightsMatrix` is M×K row-major in source
 * order; each row is renormalized over active sources exactly like `normalizeWeights`.
 */
export async function evaluateCandidates(
  data: PreparedMixtureData,
  weightsMatrix: Float64Array,
  options: CandidateOptions,
): Promise<CandidateEvaluation> {
  const { sourceNames, activeSources, numSources, evalNames } = data;
  checkBudget(options.budgetTokens);
  if (weightsMatrix.length % numSources !== 0) {
    throw new TokenmixError(`candidates: weights matrix has ${weightsMatrix.length} values, not a multiple of K = ${numSources} sources`);
  }
  const numCandidates = weightsMatrix.length / numSources;
  const weights = new Float64Array(weightsMatrix.length);
  for (let m = 0; m < numCandidates; m++) {
    const row = weightRecord(weightsMatrix.subarray(m * numSources, (m + 1) * numSources), sourceNames);
    weights.set(weightVector(normalizeWeights(row, activeSources, `candidate ${m} weights`), sourceNames), m * numSources);
  }
  const lambdas = normalizeEvalWeights(evalNames, options.evalWeights);
  const lossFn = options.lossFn ?? mixtureLossesCpu;
  const losses = await lossFn(lossInput(data, weights, numCandidates));
  if (losses.length !== numCandidates * evalNames.length) {
    throw new TokenmixError(`candidates: loss function returned ${losses.length} values, expected ${numCandidates} × ${evalNames.length}`);
  }
  const maxEpochs = options.maxEpochs ?? DEFAULT_MAX_EPOCHS;
  const result: CandidateEvaluation = {
    numCandidates,
    sourceNames,
    evalNames,
    weights,
    losses: Float64Array.from(losses),
    objective: new Float64Array(numCandidates),
    contaminationMass: new Float64Array(numCandidates),
    repetition: new Float64Array(numCandidates * numSources),
    maxRepetition: new Float64Array(numCandidates),
    exceedsEpochCap: [],
  };
  for (let m = 0; m < numCandidates; m++) {
    const row = weights.subarray(m * numSources, (m + 1) * numSources);
    result.objective[m] = objective(losses, lambdas, m * evalNames.length);
    result.contaminationMass[m] = contaminationMass(row, data.leakTokens, data.retainedTokens);
    let worst = 0;
    for (let i = 0; i < numSources; i++) {
      const rho = repetitionPressure(options.budgetTokens, row[i], data.retainedTokens[i]);
      result.repetition[m * numSources + i] = rho;
      worst = Math.max(worst, rho);
    }
    result.maxRepetition[m] = worst;
    result.exceedsEpochCap.push(worst > maxEpochs);
  }
  return result;
}

function lossInput(data: PreparedMixtureData, weights: Float64Array, numCandidates: number): MixtureLossInput {
  return {
    distributions: data.distributions,
    weights,
    evals: data.evalDistributions,
    numSources: data.numSources,
    vocabSize: data.vocabSize,
    numCandidates,
    numEvals: data.evalNames.length,
  };
}

export function checkBudget(budgetTokens: number): void {
  if (typeof budgetTokens !== 'number' || !Number.isFinite(budgetTokens) || budgetTokens <= 0) {
    throw new TokenmixError(`budget_tokens must be a positive number of tokens (got ${JSON.stringify(budgetTokens)})`);
  }
}
