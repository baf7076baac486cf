/**
 * Mixture weights and schedules (SPEC §3). Weights are keyed by source name; a source is
 * active when it has retained tokens (M_i > 0). Every public function validates its input and
 * throws a TokenmixError that says which source / stage was wrong and how to fix it.
 */
import { TokenmixError } from '../errors.js';
import { dict, own } from '../dict.js';

/** Mixture weights by source name. Need not sum to 1: they are renormalized over active sources. */
export type Weights = Record<string, number>;

/** One schedule stage: a share `fraction` of the token budget drawn with mixture `weights`. */
export interface Stage {
  fraction: number;
  weights: Weights;
  /** Optional label for reports (e.g. "anneal"). */
  name?: string;
}

/** SPEC §3 schedule: stages in training order; fractions are >= 0 and sum to 1. */
export type Schedule = Stage[];

/** How far the stage fractions may sum from 1 (floating-point slack for e.g. 0.8 + 0.2). */
export const SCHEDULE_SUM_TOLERANCE = 1e-9;

/** Throws unless every given weight is a finite number >= 0. */
export function checkWeightValues(weights: Weights, where = 'mixture weights'): void {
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) {
    throw new TokenmixError(`${where} must be an object mapping source names to numbers (got ${JSON.stringify(weights)})`);
  }
  for (const [source, weight] of Object.entries(weights)) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new TokenmixError(
        `${where}: weight of source "${source}" must be a finite number >= 0 (got ${JSON.stringify(weight)}); fix it in the mixture config`,
      );
    }
  }
}

/**
 * SPEC §3: renormalize `weights` over the `active` sources (those with retained tokens).
 * Weights of sources not in `active` are ignored; a missing active source counts as 0; if the
 * active weights sum to 0 the mixture is uniform over active sources; with no active source the
 * mixture is undefined and this throws. The result has exactly the active sources as keys.
 */
export function normalizeWeights(weights: Weights, active: readonly string[], where = 'mixture weights'): Weights {
  checkWeightValues(weights, where);
  if (active.length === 0) {
    throw new TokenmixError(
      `mixture undefined: no source has retained tokens (${where}); loosen the filters/thresholds or add inputs`,
    );
  }
  if (new Set(active).size !== active.length) {
    throw new TokenmixError(`${where}: active source list has duplicates: ${active.join(', ')}`);
  }
  let total = 0;
  for (const source of active) total += own(weights, source) ?? 0;
  const normalized: Weights = dict();
  for (const source of active) {
    normalized[source] = total > 0 ? (own(weights, source) ?? 0) / total : 1 / active.length;
  }
  return normalized;
}

/** Throws unless the schedule is a non-empty list of stages with fractions >= 0 summing to 1 (±1e-9). */
export function validateSchedule(schedule: Schedule): void {
  if (!Array.isArray(schedule) || schedule.length === 0) {
    throw new TokenmixError('schedule must be a non-empty list of stages {fraction, weights}');
  }
  let sum = 0;
  schedule.forEach((stage, index) => {
    const label = stageLabel(stage, index);
    if (typeof stage !== 'object' || stage === null) {
      throw new TokenmixError(`schedule ${label} must be an object {fraction, weights}`);
    }
    if (typeof stage.fraction !== 'number' || !Number.isFinite(stage.fraction) || stage.fraction < 0) {
      throw new TokenmixError(
        `schedule ${label}: fraction must be a finite number >= 0 (got ${JSON.stringify(stage.fraction)})`,
      );
    }
    checkWeightValues(stage.weights, `schedule ${label} weights`);
    sum += stage.fraction;
  });
  if (Math.abs(sum - 1) > SCHEDULE_SUM_TOLERANCE) {
    const fractions = schedule.map((stage) => stage.fraction).join(' + ');
    throw new TokenmixError(
      `schedule fractions must sum to 1 but ${fractions} = ${sum}; they are shares of the token budget, adjust them to add up to 1`,
    );
  }
}

/** A one-stage schedule (constant mixture). */
export function constantSchedule(weights: Weights): Schedule {
  return [{ fraction: 1, weights }];
}

/** Each stage's weights renormalized over the active sources (SPEC §3). */
export function stageWeights(schedule: Schedule, active: readonly string[]): Weights[] {
  validateSchedule(schedule);
  return schedule.map((stage, index) => normalizeWeights(stage.weights, active, `schedule ${stageLabel(stage, index)} weights`));
}

/** SPEC §3 time-averaged weights: wbar_i = sum_s f_s w^(s)_i, over the active sources. */
export function averageWeights(schedule: Schedule, active: readonly string[]): Weights {
  const perStage = stageWeights(schedule, active);
  const average: Weights = dict();
  for (const source of active) {
    let sum = 0;
    perStage.forEach((weights, s) => (sum += schedule[s].fraction * weights[source]));
    average[source] = sum;
  }
  return average;
}

/** Weights by name → a vector in the order of `sources` (missing names are 0). */
export function weightVector(weights: Weights, sources: readonly string[]): Float64Array {
  return Float64Array.from(sources, (source) => own(weights, source) ?? 0);
}

/** Weight vector in the order of `sources` → weights by name. */
export function weightRecord(vector: ArrayLike<number>, sources: readonly string[]): Weights {
  const record: Weights = dict();
  sources.forEach((source, i) => (record[source] = vector[i]));
  return record;
}

/** Throws when `weights` names a source that is not in `sources` (catches typos in configs). */
export function checkKnownSources(weights: Weights, sources: readonly string[], where: string): void {
  for (const name of Object.keys(weights)) {
    if (!sources.includes(name)) {
      throw new TokenmixError(`${where}: unknown source "${name}" (sources are: ${sources.join(', ')})`);
    }
  }
}

function stageLabel(stage: Stage | undefined, index: number): string {
  return stage && typeof stage === 'object' && stage.name ? `stage ${index} ("${stage.name}")` : `stage ${index}`;
}
