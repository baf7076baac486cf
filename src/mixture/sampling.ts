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
 *
 * Resuming: the scheduler's state after any prefix (`PlanState`: tokens, epoch and position per
 * source) determines the rest of the plan, so a checkpoint of it resumes at entry n without
 * replaying the first n decisions (`PlanCursor`).
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

/**
 * The scheduler's whole state after some prefix of the plan: what a checkpoint stores so that
 * resuming at entry n costs O(1) scheduling steps instead of a replay of the first n. Plain
 * JSON (integers only: token sums are exact in f64), so it can sit in a marker file.
 */
export interface PlanState {
  /** Index of the next entry. */
  index: number;
  /** Planned tokens so far. */
  total: number;
  /** Per source: planned tokens, current epoch, position within the epoch's permutation. */
  sourceTokens: number[];
  epoch: number[];
  position: number[];
}

export function initialPlanState(plan: SamplingPlan): PlanState {
  const zeros = () => plan.sourceNames.map(() => 0);
  return { index: 0, total: 0, sourceTokens: zeros(), epoch: zeros(), position: zeros() };
}

/**
 * Walks the plan one entry at a time from a state (the start, or a checkpoint). `steps` counts
 * the scheduling decisions this cursor made, so tests can check that a resume does not replay.
 */
export class PlanCursor {
  private readonly sourceTokens: Float64Array;
  private readonly epoch: Uint32Array;
  private readonly position: Uint32Array;
  private readonly order: (Uint32Array | null)[];
  private readonly candidates: number[];
  private index: number;
  private total: number;
  steps = 0;

  constructor(private readonly plan: SamplingPlan, from: PlanState = initialPlanState(plan)) {
    const numSources = plan.sourceNames.length;
    for (const key of ['sourceTokens', 'epoch', 'position'] as const) {
      if (!Array.isArray(from[key]) || from[key].length !== numSources) {
        throw new TokenmixError(`sampling plan: checkpoint has ${from[key]?.length} ${key} values for ${numSources} sources (a checkpoint of another plan)`);
      }
    }
    from.position.forEach((p, i) => {
      if (!Number.isInteger(p) || p < 0 || (p > 0 && p >= plan.eligibleDocs[i].length)) {
        throw new TokenmixError(`sampling plan: checkpoint position ${p} of source "${plan.sourceNames[i]}" is out of range (a checkpoint of another plan)`);
      }
    });
    this.sourceTokens = Float64Array.from(from.sourceTokens);
    this.epoch = Uint32Array.from(from.epoch);
    this.position = Uint32Array.from(from.position);
    this.order = new Array(numSources).fill(null);
    this.candidates = plan.sourceNames.map((_, i) => i).filter((i) => plan.eligibleDocs[i].length > 0 && plan.stageWeights.some((w) => w[i] > 0));
    this.index = from.index;
    this.total = from.total;
  }

  state(): PlanState {
    return {
      index: this.index,
      total: this.total,
      sourceTokens: Array.from(this.sourceTokens),
      epoch: Array.from(this.epoch),
      position: Array.from(this.position),
    };
  }

  private nextDoc(i: number): number {
    // The permutation is rebuilt from (seed, source, epoch) alone, so a checkpoint need not store it.
    if (this.order[i] === null) this.order[i] = seededPermutation(this.plan.eligibleDocs[i].length, deriveSeed(this.plan.seed, i, this.epoch[i]));
    return this.plan.eligibleDocs[i][this.order[i]![this.position[i]]];
  }

  /** The next entry, or null once the plan has reached its budget. */
  next(): PlanEntry | null {
    const plan = this.plan;
    const total = this.total;
    if (total >= plan.budgetTokens) return null;
    this.steps++;
    let best = -1;
    let bestFinish = Infinity;
    let bestDeficit = -Infinity;
    for (const i of this.candidates) {
      const deficit = targetTokens(plan, i, total) - this.sourceTokens[i];
      // Not eligible: already ahead of its target (with slack for rounding in the f64 targets,
      // whose exact sum is T, so some source always qualifies).
      if (deficit < -ELIGIBILITY_SLACK * Math.max(1, total)) continue;
      const finish = finishTime(plan, i, this.sourceTokens[i] + plan.docTokens[i][this.nextDoc(i)], total);
      if (best === -1 || finish < bestFinish || (finish === bestFinish && deficit > bestDeficit)) {
        best = i;
        bestFinish = finish;
        bestDeficit = deficit;
      }
    }
    invariant(best !== -1, 'sampling plan: no eligible source although deficits sum to 0');
    const doc = this.nextDoc(best);
    const tokens = plan.docTokens[best][doc];
    const entry: PlanEntry = { index: this.index, source: best, doc, epoch: this.epoch[best], stage: stageAt(plan, total), tokens, tokensBefore: total };
    this.sourceTokens[best] += tokens;
    this.total += tokens;
    this.index++;
    this.position[best]++;
    if (this.position[best] === plan.eligibleDocs[best].length) {
      this.position[best] = 0;
      this.epoch[best]++;
      this.order[best] = null;
    }
    return entry;
  }
}

/**
 * All plan entries from `from` on, in order: from an entry index (the entries before it are
 * replayed, not yielded) or from a checkpointed `PlanState` (no replay).
 */
export function* planEntries(plan: SamplingPlan, from: number | PlanState = 0): Generator<PlanEntry> {
  const cursor = typeof from === 'number' ? new PlanCursor(plan) : new PlanCursor(plan, from);
  const fromIndex = typeof from === 'number' ? from : 0;
  for (let entry = cursor.next(); entry !== null; entry = cursor.next()) {
    if (entry.index >= fromIndex) yield entry;
  }
}

/**
 * Entries [from, from + count) of the plan: identical to the same range of the full plan.
 * `from` is an entry index (replays the prefix) or a checkpoint (costs `count` steps).
 */
export function planSlice(plan: SamplingPlan, from: number | PlanState, count: number): PlanEntry[] {
  const fromIndex = typeof from === 'number' ? from : from.index;
  if (!Number.isInteger(fromIndex) || fromIndex < 0 || !Number.isInteger(count) || count < 0) {
    throw new TokenmixError(`planSlice: fromIndex and count must be integers >= 0 (got ${fromIndex}, ${count})`);
  }
  const slice: PlanEntry[] = [];
  if (count === 0) return slice;
  for (const entry of planEntries(plan, from)) {
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
