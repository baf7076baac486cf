/**
 * Baseline mixtures of SPEC §3. All return weights over the active sources (M_i > 0) that sum
 * to 1. A mixture weight is a share of the *token* budget (q = sum_i w_i P_i is a token
 * distribution), so each baseline is stated as a rule for token shares:
 *
 * - uniform-docs:   w_i ∝ D_i, retained documents. A source's token share equals its share of the
 *                   retained documents, as if every document contributed the same number of tokens
 *                   (sources of long documents get less than their token share, short ones more).
 * - uniform-tokens: w_i = 1/K_active, every active source gets the same number of tokens.
 * - proportional:   w_i ∝ M_i, retained tokens: every retained token equally likely (natural mix).
 * - temperature:    w_i ∝ M_i^(1/T); T = 1 is proportional, T → ∞ uniform-tokens (mT5, XLM-R).
 * - unimax:         uniform-tokens with a cap of maxEpochs·M_i tokens per source for a budget B,
 *                   water-filled (Chung et al. 2023, "UniMax", Algorithm 1).
 * - hand-tuned:     the given weights, renormalized over active sources.
 */
import { TokenmixError } from '../errors.js';
import { checkKnownSources, normalizeWeights, type Weights } from './weights.js';
import { dict } from '../dict.js';

/** What baselines need to know about the sources (a PreparedMixtureData fits). */
export interface BaselineInputs {
  sourceNames: readonly string[];
  retainedTokens: ArrayLike<number>;
  retainedDocs: ArrayLike<number>;
}

export type BaselineSpec =
  | { kind: 'uniform-docs' }
  | { kind: 'uniform-tokens' }
  | { kind: 'proportional' }
  | { kind: 'temperature'; temperature: number }
  | { kind: 'unimax'; budgetTokens: number; maxEpochs: number }
  | { kind: 'hand-tuned'; weights: Weights };

export const BASELINE_KINDS = ['uniform-docs', 'uniform-tokens', 'proportional', 'temperature', 'unimax', 'hand-tuned'] as const;

export function baselineWeights(spec: BaselineSpec, inputs: BaselineInputs): Weights {
  switch (spec.kind) {
    case 'uniform-docs':
      return uniformByDocument(inputs);
    case 'uniform-tokens':
      return uniformByToken(inputs);
    case 'proportional':
      return proportionalWeights(inputs);
    case 'temperature':
      return temperatureWeights(inputs, spec.temperature);
    case 'unimax':
      return unimaxWeights(inputs, spec.budgetTokens, spec.maxEpochs);
    case 'hand-tuned':
      checkKnownSources(spec.weights, inputs.sourceNames, 'hand-tuned baseline');
      return normalizeWeights(spec.weights, activeNames(inputs), 'hand-tuned baseline');
    default:
      throw new TokenmixError(
        `unknown baseline kind ${JSON.stringify((spec as { kind: unknown }).kind)} (known: ${BASELINE_KINDS.join(', ')})`,
      );
  }
}

export function uniformByDocument(inputs: BaselineInputs): Weights {
  return byActive(inputs, (i) => inputs.retainedDocs[i], 'uniform-docs baseline');
}

export function uniformByToken(inputs: BaselineInputs): Weights {
  return byActive(inputs, () => 1, 'uniform-tokens baseline');
}

export function proportionalWeights(inputs: BaselineInputs): Weights {
  return byActive(inputs, (i) => inputs.retainedTokens[i], 'proportional baseline');
}

/** w_i ∝ M_i^(1/T), computed as exp((ln M_i - ln M_max)/T) so large counts cannot overflow. */
export function temperatureWeights(inputs: BaselineInputs, temperature: number): Weights {
  if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) {
    throw new TokenmixError(`temperature baseline: T must be a finite number > 0 (got ${JSON.stringify(temperature)})`);
  }
  let largest = 0;
  for (let i = 0; i < inputs.sourceNames.length; i++) largest = Math.max(largest, inputs.retainedTokens[i]);
  const logLargest = Math.log(largest);
  return byActive(inputs, (i) => Math.exp((Math.log(inputs.retainedTokens[i]) - logLargest) / temperature), 'temperature baseline');
}

/**
 * UniMax: visit active sources from fewest to most retained tokens (ties by source order); each
 * gets an equal share of the budget still unassigned, capped at maxEpochs·M_i tokens; the
 * capped remainder flows to the larger sources. w_i = allocation_i / B. When even the caps
 * cannot fill the budget (sum maxEpochs·M_i < B) there is no such mixture: an error.
 */
export function unimaxWeights(inputs: BaselineInputs, budgetTokens: number, maxEpochs: number): Weights {
  if (!(budgetTokens > 0) || !Number.isFinite(budgetTokens)) {
    throw new TokenmixError(`unimax baseline: budgetTokens must be a positive number (got ${JSON.stringify(budgetTokens)})`);
  }
  if (!(maxEpochs > 0)) throw new TokenmixError(`unimax baseline: maxEpochs must be > 0 (got ${JSON.stringify(maxEpochs)})`);
  const active = activeIndices(inputs);
  const capacity = active.reduce((sum, i) => sum + maxEpochs * inputs.retainedTokens[i], 0);
  if (capacity < budgetTokens) {
    throw new TokenmixError(
      `unimax baseline: ${maxEpochs} epochs of every source give only ${capacity} tokens < budget ${budgetTokens}; raise maxEpochs or lower the budget`,
    );
  }
  const order = [...active].sort((a, b) => inputs.retainedTokens[a] - inputs.retainedTokens[b] || a - b);
  const allocation = new Map<number, number>();
  let remainingBudget = budgetTokens;
  order.forEach((i, position) => {
    const share = remainingBudget / (order.length - position);
    const tokens = Math.min(share, maxEpochs * inputs.retainedTokens[i]);
    allocation.set(i, tokens);
    remainingBudget -= tokens;
  });
  const weights: Weights = dict();
  for (const i of active) weights[inputs.sourceNames[i]] = allocation.get(i)! / budgetTokens;
  return weights;
}

function activeIndices(inputs: BaselineInputs): number[] {
  const active: number[] = [];
  for (let i = 0; i < inputs.sourceNames.length; i++) if (inputs.retainedTokens[i] > 0) active.push(i);
  return active;
}

function activeNames(inputs: BaselineInputs): string[] {
  return activeIndices(inputs).map((i) => inputs.sourceNames[i]);
}

function byActive(inputs: BaselineInputs, raw: (i: number) => number, where: string): Weights {
  const weights: Weights = dict();
  for (const i of activeIndices(inputs)) weights[inputs.sourceNames[i]] = raw(i);
  return normalizeWeights(weights, activeNames(inputs), where);
}
