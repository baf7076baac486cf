/**
 * Sampling plan (SPEC §6): a deterministic, resumable order of documents for a token budget B
 * and a schedule, whose per-source token counts track the scheduled targets as closely as whole
 * documents allow.
 *
 * Target: source i should have target_i(T) = integral_0^T w_i(x) dx tokens once T tokens are
 * planned, where w(x) is the weights of the stage holding token position x (stage s covers
 * [B·F_{s-1}, B·F_s), F the cumulative fractions; the last stage with a positive fraction also
 * covers the overshoot past B). Targets are cumulative, so a lag left at a stage boundary is
 * repaid in the next stage; and sum_i target_i(T) = T.
 *
 * Rule: WF²Q (Bennett & Zhang 1996, "worst-case fair weighted fair queueing") with documents as
 * packets and planned tokens as time. Source i is *eligible* when it holds no more than its target
 * (t_i <= target_i(T)); among eligible sources take the one whose next document (l_i tokens)
 * would finish first in the ideal fluid schedule, F_i = min{T' : target_i(T') >= t_i + l_i}; ties
 * by larger deficit target_i(T) - t_i, then lower source index. Eligibility bounds each source's
 * surplus by one document; the earliest fluid finish bounds its lag by one document (Parekh &
 * Gallager's PGPS bound). The tests check |t_i - target_i(T)| <= max document tokens at every
 * prefix. Megatron's blending rule carried over to tokens (argmax target_i(T + l_i) - t_i) was
 * tried first and lags by up to 1.38 documents on random instances, hence WF²Q.
 *
 * Order within a source: its non-empty documents in a seeded permutation per epoch (seed
 * derived from (seed, source index, epoch)); when a source is exhausted the next epoch starts
 * (repetition). The plan ends at the first document that reaches T >= B.
 */
import { invariant, TokenmixError } from '../errors.js';
import { deriveSeed, seededPermutation } from './prng.js';
import { stageWeights, weightVector, type Schedule } from './weights.js';

const ELIGIBILITY_SLACK = 1e-9;

export interface PlanSource {
  name: string;
  /** Token count of each retained document, in the source's canonical (input) order. */
  docTokens: ArrayLike<number>;
}

export interface SamplingPlanInput {
  sources: PlanSource[];
  budgetTokens: number;
  schedule: Schedule;
  seed: number;
}

export interface PlanEntry {
  /** Position in the plan (0-based). */
  index: number;
  source: number;
  /** Index into the source's `docTokens`. */
  doc: number;
  epoch: number;
  /** Stage holding the entry's first token. */
  stage: number;
  tokens: number;
  /** Planned tokens before this entry. */
  tokensBefore: number;
}

export interface SamplingPlan {
  sourceNames: string[];
  budgetTokens: number;
  seed: number;
  /** Per stage, weights in source order (renormalized over sources with non-empty documents). */
  stageWeights: Float64Array[];
  /** Token position where each stage ends: B·F_s (the last stage with a positive fraction: +∞). */
  stageEnds: number[];
  /** Non-empty documents of each source (indices into docTokens), in canonical order. */
  eligibleDocs: Uint32Array[];
  /** Empty documents left out of the plan, per source (they carry no tokens). */
  emptyDocs: number[];
  docTokens: ArrayLike<number>[];
  maxDocTokens: number;
}

export function createSamplingPlan(input: SamplingPlanInput): SamplingPlan {
  const { sources, budgetTokens, schedule, seed } = input;
  if (!(budgetTokens > 0) || !Number.isFinite(budgetTokens)) {
    throw new TokenmixError(`sampling plan: budget_tokens must be a positive number (got ${JSON.stringify(budgetTokens)})`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new TokenmixError(`sampling plan: seed must be an integer in [0, 2^32) (got ${JSON.stringify(seed)})`);
  }
  const sourceNames = sources.map((source) => source.name);
  let maxDocTokens = 0;
  const eligibleDocs: Uint32Array[] = [];
  const emptyDocs: number[] = [];
  sources.forEach((source) => {
    const eligible: number[] = [];
    for (let d = 0; d < source.docTokens.length; d++) {
      const tokens = source.docTokens[d];
      if (!Number.isInteger(tokens) || tokens < 0) {
        throw new TokenmixError(`sampling plan: source "${source.name}" document ${d} has token count ${tokens}; expected an integer >= 0`);
      }
      if (tokens > 0) eligible.push(d);
      maxDocTokens = Math.max(maxDocTokens, tokens);
    }
    eligibleDocs.push(Uint32Array.from(eligible));
    emptyDocs.push(source.docTokens.length - eligible.length);
  });
  const active = sourceNames.filter((_, i) => eligibleDocs[i].length > 0);
  const perStage = stageWeights(schedule, active).map((weights) => weightVector(weights, sourceNames));
  const lastPositive = schedule.reduce((last, stage, s) => (stage.fraction > 0 ? s : last), -1);
  let cumulative = 0;
  const stageEnds = schedule.map((stage, s) => {
    cumulative += stage.fraction;
    return s >= lastPositive ? Infinity : budgetTokens * cumulative;
  });
  return {
    sourceNames,
    budgetTokens,
    seed,
    stageWeights: perStage,
    stageEnds,
    eligibleDocs,
    emptyDocs,
    docTokens: sources.map((source) => source.docTokens),
    maxDocTokens,
  };
}

/** target_i(T) of the file comment: tokens source i should hold after T planned tokens. */
export function targetTokens(plan: SamplingPlan, source: number, totalTokens: number): number {
  let target = 0;
  let stageStart = 0;
  for (let s = 0; s < plan.stageEnds.length && stageStart < totalTokens; s++) {
    const stageEnd = plan.stageEnds[s];
    if (stageEnd > stageStart) target += plan.stageWeights[s][source] * (Math.min(stageEnd, totalTokens) - stageStart);
    stageStart = Math.max(stageStart, stageEnd);
  }
  return target;
}

/** min{T' >= from : target_i(T') >= goal}: when the fluid schedule finishes `goal` tokens of source i (∞ if never). */
export function finishTime(plan: SamplingPlan, source: number, goal: number, from: number): number {
  let reached = 0;
  let stageStart = 0;
  for (let s = 0; s < plan.stageEnds.length; s++) {
    const stageEnd = plan.stageEnds[s];
    if (stageEnd <= stageStart) continue;
    const rate = plan.stageWeights[s][source];
    const stageTarget = rate * (stageEnd - stageStart);
    if (rate > 0 && reached + stageTarget >= goal) return Math.max(from, stageStart + (goal - reached) / rate);
    reached += stageTarget;
    stageStart = stageEnd;
  }
  return reached >= goal ? from : Infinity;
}

function stageAt(plan: SamplingPlan, tokens: number): number {
  let s = 0;
  while (tokens >= plan.stageEnds[s]) s++;
  return s;
}

/** All plan entries from `fromIndex` on, in order (entries before it are replayed, not yielded). */
export function* planEntries(plan: SamplingPlan, fromIndex = 0): Generator<PlanEntry> {
  const numSources = plan.sourceNames.length;
  const sourceTokens = new Float64Array(numSources);
  const epoch = new Uint32Array(numSources);
  const position = new Uint32Array(numSources);
  const order: (Uint32Array | null)[] = new Array(numSources).fill(null);
  const candidates = plan.sourceNames.map((_, i) => i).filter((i) => plan.eligibleDocs[i].length > 0 && plan.stageWeights.some((w) => w[i] > 0));
  const nextDoc = (i: number): number => {
    if (order[i] === null) order[i] = seededPermutation(plan.eligibleDocs[i].length, deriveSeed(plan.seed, i, epoch[i]));
    return plan.eligibleDocs[i][order[i]![position[i]]];
  };
  let total = 0;
  for (let index = 0; total < plan.budgetTokens; index++) {
    let best = -1;
    let bestFinish = Infinity;
    let bestDeficit = -Infinity;
    for (const i of candidates) {
      const deficit = targetTokens(plan, i, total) - sourceTokens[i];
      // Not eligible: already ahead of its target (with slack for rounding in the f64 targets,
      // whose exact sum is T, so some source always qualifies).
      if (deficit < -ELIGIBILITY_SLACK * Math.max(1, total)) continue;
      const finish = finishTime(plan, i, sourceTokens[i] + plan.docTokens[i][nextDoc(i)], total);
      if (best === -1 || finish < bestFinish || (finish === bestFinish && deficit > bestDeficit)) {
        best = i;
        bestFinish = finish;
        bestDeficit = deficit;
      }
    }
    invariant(best !== -1, 'sampling plan: no eligible source although deficits sum to 0');
    const doc = nextDoc(best);
    const tokens = plan.docTokens[best][doc];
    if (index >= fromIndex) {
      yield { index, source: best, doc, epoch: epoch[best], stage: stageAt(plan, total), tokens, tokensBefore: total };
    }
    sourceTokens[best] += tokens;
    total += tokens;
    position[best]++;
    if (position[best] === plan.eligibleDocs[best].length) {
      position[best] = 0;
      epoch[best]++;
      order[best] = null;
    }
  }
}

/** Entries [fromIndex, fromIndex + count) of the plan: identical to the same range of the full plan. */
export function planSlice(plan: SamplingPlan, fromIndex: number, count: number): PlanEntry[] {
  if (!Number.isInteger(fromIndex) || fromIndex < 0 || !Number.isInteger(count) || count < 0) {
    throw new TokenmixError(`planSlice: fromIndex and count must be integers >= 0 (got ${fromIndex}, ${count})`);
  }
  const slice: PlanEntry[] = [];
  if (count === 0) return slice;
  for (const entry of planEntries(plan, fromIndex)) {
    slice.push(entry);
    if (slice.length === count) break;
  }
  return slice;
}

export interface PlanSummary {
  entries: number;
  tokens: number;
  perSource: { name: string; tokens: number; documents: number; epochsStarted: number; target: number }[];
}

export function summarizePlan(plan: SamplingPlan): PlanSummary {
  const perSource = plan.sourceNames.map((name) => ({ name, tokens: 0, documents: 0, epochsStarted: 0, target: 0 }));
  let entries = 0;
  let tokens = 0;
  for (const entry of planEntries(plan)) {
    const source = perSource[entry.source];
    source.tokens += entry.tokens;
    source.documents++;
    source.epochsStarted = Math.max(source.epochsStarted, entry.epoch + 1);
    entries++;
    tokens += entry.tokens;
  }
  perSource.forEach((source, i) => (source.target = targetTokens(plan, i, tokens)));
  return { entries, tokens, perSource };
}
