/**
 * The curation stages as steps (SPEC §2), in their order: duplicate ids (quarantine) →
 * quality threshold → heuristic rules → contamination → exact dedup; near dedup follows
 * (near-memory.ts in memory, src/pipeline/near.ts through the `tokenmix dedup` engine).
 *
 * `tokenmix curate`'s reduce and the explorer run these same steps over the same per-record
 * facts (CurationRecord: what the map phase computes per record). Only where the dedup
 * steps keep their keys differs: the reduce groups them out of core in key partitions, the
 * explorer in a Map; both decide with the same rule (`replacesWinner`).
 */
import type { Backend } from '../backend.js';
import { createThresholdTotals, histogramEdges, mergeThresholdStats, type HistogramSpec, type ThresholdTotals } from '../cpu/threshold.js';
import { dict, own } from '../dict.js';
import { topTokensThreshold } from '../filters/top-tokens.js';
import { threshold } from '../kernels/threshold.js';
import { DUPLICATE_ID } from './stages.js';
import type { Step, StepBatch, StepRecord } from './step.js';

/** A record's facts, as the map phase records them (src/pipeline/shard.ts). */
export interface CurationRecord extends StepRecord {
  readonly id: string;
  /** The score the quality filter and `keep: best-quality` use, or null. */
  readonly score: number | null;
  /** The first heuristic rule the text fails, or null. */
  readonly heuristic: string | null;
  /** Shares at least contamination.min_overlap n-grams with the eval sets. */
  readonly eval_like: boolean;
  /** Equal keys ⇔ equal exact-dedup normalized texts. */
  readonly hash: string;
}

/**
 * Where a dedup step's keys are grouped (out of core, or in memory). The index holds the key of
 * every record, gathered before the steps run; it decides among those still kept.
 */
export interface KeyIndex {
  /** Report every record to drop among those `kept` says entered the step. */
  decide(kept: (shard: number, index: number) => boolean, drop: (shard: number, index: number) => void): void | Promise<void>;
}

/**
 * Duplicate ids: the first record (in input order) with an id stays, later ones are quarantined.
 * The first stage: every record enters it, so its repeats are found over all records before the
 * steps run (`isRepeat`) and the step judges from them, in the same pass as the stages after it.
 */
export function duplicateIdStep<R extends CurationRecord>(isRepeat: (shard: number, index: number) => boolean): Step<R> {
  return {
    stage: 'quarantine',
    judge: (batch) => batch.records.forEach((_, k) => {
      if (isRepeat(batch.shard, batch.indices[k])) batch.drop(k, DUPLICATE_ID);
    }),
    remote(shard, first, count) {
      const repeats: number[] = [];
      for (let i = 0; i < count; i++) if (isRepeat(shard, first + i)) repeats.push(i);
      return { kind: 'duplicate-ids', repeats } satisfies RemoteSpec;
    },
  };
}

/**
 * How a step's judging is rebuilt on another thread for one piece of a shard (Step.remote;
 * indices there are the piece's own). Near dedup has none, nor quality on a GPU: they judge here.
 */
export type RemoteSpec =
  | { kind: 'duplicate-ids'; repeats: number[] }
  | { kind: 'quality'; sources: string[]; thresholds: number[]; histogram: QualitySpec['histogram'] }
  | { kind: 'heuristics' }
  | { kind: 'contamination'; action: 'keep' | 'drop' }
  | { kind: 'exact-dedup' };

/** How the quality histograms of a piece are made on another thread (Step.remoteObserve). */
export interface RemoteObserveSpec {
  kind: 'quality-histogram';
  sources: string[];
  thresholds: number[];
  histogram: QualitySpec['histogram'];
}

/** The threshold kernel on a worker thread: the CPU one (the device is owned by the calling thread). */
const WORKER_CPU: Backend = { kind: 'cpu', reason: 'a worker thread' };

/** A quality spec's source numbering and f32 thresholds, as the kernel takes them. */
function remoteQuality(spec: { sources: string[]; thresholds: number[] }) {
  return { sourceIndex: new Map(spec.sources.map((name, i) => [name, i])), thresholds: Float32Array.from(spec.thresholds) };
}

/** An observer of one piece's entering records, by its spec; `result()` is what `observed` takes. */
export function remoteObserver(spec: RemoteObserveSpec): { observe(records: readonly CurationRecord[]): Promise<void>; result(): ThresholdTotals } {
  const { sourceIndex, thresholds } = remoteQuality(spec);
  let totals = createThresholdTotals(spec.sources.length, spec.histogram.bins);
  return {
    async observe(records) {
      const { stats } = await threshold(WORKER_CPU, thresholdBatch(records, sourceIndex), { thresholds, histogram: spec.histogram });
      totals = mergeThresholdStats(totals, stats);
    },
    result: () => totals,
  };
}

/** The step a RemoteSpec stands for, judging one piece (exact dedup only passes records on: it finishes where the keys are). */
export function remoteStep<R extends CurationRecord>(spec: RemoteSpec): Step<R> {
  switch (spec.kind) {
    case 'duplicate-ids': {
      const repeats = new Set(spec.repeats);
      return duplicateIdStep((_shard, index) => repeats.has(index));
    }
    case 'quality': {
      const { sourceIndex, thresholds } = remoteQuality(spec);
      return { stage: 'quality', judge: (batch) => judgeByThreshold(WORKER_CPU, batch, thresholds, spec.histogram, sourceIndex) };
    }
    case 'heuristics':
      return heuristicsStep();
    case 'contamination':
      return contaminationStep(spec.action);
    case 'exact-dedup':
      return { stage: 'exact_dedup' };
  }
}

/** The quality filter (config `filters.quality`). */
export interface QualitySpec {
  field: string;
  thresholds: Record<string, number>;
  top_fraction: Record<string, number>;
  histogram: HistogramSpec & { bins: number };
}

export interface QualityOutcome {
  field: string;
  /** The thresholds applied per source (fixed, or derived from top_fraction; the stricter of both). */
  thresholds: Record<string, number | null>;
  histogram: { min: number; max: number; bins: number; edges: number[] };
  /** Token-weighted score histogram per source (all scored records entering the stage). */
  tokens_by_bin: Record<string, number[]>;
}

/**
 * The quality threshold: a first pass builds each source's token-weighted score histogram
 * (threshold kernel) over every entering record, which gives the top-fraction thresholds;
 * then records below their source's threshold (compared in f32 by the kernel) are dropped.
 * `outcome()` is what the manifest reports, once the step has run.
 */
export function qualityStep<R extends CurationRecord>(quality: QualitySpec, sources: readonly string[], backend: Backend): Step<R> & { outcome(): QualityOutcome } {
  const sourceIndex = new Map(sources.map((s, i) => [s, i]));
  const spec = quality.histogram;
  const fixed = new Float32Array(sources.length).fill(-Infinity);
  for (const [name, t] of Object.entries(quality.thresholds)) fixed[sourceIndex.get(name)!] = t;
  let totals: ThresholdTotals = createThresholdTotals(sources.length, spec.bins);
  let final: Float32Array | null = null;
  let outcome: QualityOutcome | null = null;
  // Final thresholds: fixed ones, raised to the top-fraction cut where that is stricter.
  const decideThresholds = () => {
    final = Float32Array.from(fixed);
    const edges = histogramEdges(spec);
    const applied: Record<string, number | null> = dict();
    const byBin: Record<string, number[]> = dict();
    for (const [s, name] of sources.entries()) {
      const row = totals.histogram.subarray(s * spec.bins, (s + 1) * spec.bins);
      byBin[name] = Array.from(row);
      // Report thresholds as the user wrote them (f64); the kernel compares their f32 value.
      let reported: number | null = own(quality.thresholds, name) ?? null;
      const p = own(quality.top_fraction, name);
      if (p !== undefined) {
        const choice = topTokensThreshold(row, edges, p);
        // Bin 0 also holds scores below histogram.min: cutting at edges[0] would drop those
        // and keep less than p of the tokens, so choosing bin 0 means no cut at all.
        const derived = choice.bin === 0 ? -Infinity : choice.threshold;
        if (derived > (reported ?? -Infinity)) reported = derived;
        final[s] = Math.max(final[s], derived);
      }
      applied[name] = reported;
    }
    outcome = { field: quality.field, thresholds: applied, histogram: { ...spec, edges: Array.from(edges) }, tokens_by_bin: byBin };
  };
  return {
    stage: 'quality',
    async observe(records) {
      const result = await threshold(backend, thresholdBatch(records, sourceIndex), { thresholds: fixed, histogram: spec });
      totals = mergeThresholdStats(totals, result.stats);
    },
    async judge(batch) {
      if (final === null) decideThresholds();
      await judgeByThreshold(backend, batch, final!, spec, sourceIndex);
    },
    // With the CPU kernel the judging can run on any thread (the thresholds travel; the
    // histograms were made here); a GPU judges on the thread that owns the device.
    // The histograms too: each piece's come back and are added here (exact integer sums).
    ...(backend.kind === 'cpu'
      ? {
        remote: () => {
          if (final === null) decideThresholds();
          return { kind: 'quality', sources: [...sources], thresholds: Array.from(final!), histogram: spec } satisfies RemoteSpec;
        },
        remoteObserve: () => ({ kind: 'quality-histogram', sources: [...sources], thresholds: Array.from(fixed), histogram: spec }) satisfies RemoteObserveSpec,
        observed: (result: unknown) => {
          totals = mergeThresholdStats(totals, result as ThresholdTotals);
        },
      }
      : {}),
    outcome() {
      if (outcome === null) decideThresholds(); // no record entered the stage
      return outcome!;
    },
  };
}

/** The threshold kernel's batch of `records`. */
function thresholdBatch(records: readonly CurationRecord[], sourceIndex: ReadonlyMap<string, number>) {
  return {
    // A record without a score cannot reach here when a quality filter is set (the reader
    // reports it as a problem); NaN is the kernel's "no score" all the same.
    scores: Float32Array.from(records, (r) => r.score ?? NaN),
    sources: Uint32Array.from(records, (r) => sourceIndex.get(r.source)!),
    tokens: Uint32Array.from(records, (r) => r.tokens),
  };
}

/** Drops the batch's records below their source's threshold (compared in f32 by the kernel). */
async function judgeByThreshold<R extends CurationRecord>(
  backend: Backend,
  batch: StepBatch<R>,
  thresholds: Float32Array,
  histogram: QualitySpec['histogram'],
  sourceIndex: ReadonlyMap<string, number>,
): Promise<void> {
  const { keepMask } = await threshold(backend, thresholdBatch(batch.records, sourceIndex), { thresholds, histogram });
  batch.records.forEach((_, k) => {
    if (keepMask[k] === 0) batch.drop(k, 'below_threshold');
  });
}

/** Heuristic rules: the reason is the first rule the text fails (src/filters/heuristics.ts). */
export function heuristicsStep<R extends CurationRecord>(): Step<R> {
  return {
    stage: 'heuristics',
    judge: (batch) => batch.records.forEach((record, k) => {
      if (record.heuristic !== null) batch.drop(k, record.heuristic);
    }),
    remote: () => ({ kind: 'heuristics' }) satisfies RemoteSpec,
  };
}

/**
 * Contamination: a stage with either action, as in the manifest; "drop" removes eval-like
 * documents, "keep" lets them through. Either way it counts the eval-like ones that enter.
 */
export function contaminationStep<R extends CurationRecord>(action: 'keep' | 'drop'): Step<R> {
  return {
    stage: 'contamination',
    counters: ['eval_like'],
    judge: (batch) => batch.records.forEach((record, k) => {
      if (!record.eval_like) return;
      batch.count(k, 'eval_like');
      if (action === 'drop') batch.drop(k, 'eval_overlap');
    }),
    remote: () => ({ kind: 'contamination', action }) satisfies RemoteSpec,
  };
}

/** Exact dedup on the normalized text's key, decided over the records that reach it. */
export function exactDedupStep<R extends CurationRecord>(index: KeyIndex): Step<R> {
  return {
    stage: 'exact_dedup',
    finish: (drop, kept) => index.decide(kept, (shard, i) => drop(shard, i, 'duplicate')),
    remote: () => ({ kind: 'exact-dedup' }) satisfies RemoteSpec,
  };
}

/**
 * Does `challenger` (later in input order) take the place of the current `winner` of its
 * exact-dedup key? `first` keeps the earliest record; `best-quality` the highest score
 * (no score ranks lowest), ties broken by the smaller id (ids are unique here, so the winner
 * does not depend on order).
 */
export function replacesWinner(bestQuality: boolean, challenger: { score: number | null; id: string }, winner: { score: number | null; id: string }): boolean {
  if (!bestQuality) return false;
  const [s, w] = [challenger.score ?? -Infinity, winner.score ?? -Infinity];
  return s > w || (s === w && challenger.id < winner.id);
}

/** Repeated ids in memory (the explorer): shard 0, the first record with an id wins. */
export function memoryRepeatedIds(records: readonly CurationRecord[]): (shard: number, index: number) => boolean {
  const first = new Set<string>();
  const repeats = new Uint8Array(records.length);
  records.forEach((record, i) => {
    if (first.has(record.id)) repeats[i] = 1;
    else first.add(record.id);
  });
  return (_shard, index) => repeats[index] === 1;
}

/** Exact-dedup keys in memory (the explorer; shard 0), decided with `replacesWinner`. */
export function memoryExactIndex(records: readonly CurationRecord[], bestQuality: boolean): KeyIndex {
  return {
    decide(kept, drop) {
      const winners = new Map<string, number>();
      records.forEach((record, index) => {
        if (!kept(0, index)) return;
        const winner = winners.get(record.hash);
        if (winner === undefined) winners.set(record.hash, index);
        else if (replacesWinner(bestQuality, record, records[winner])) {
          drop(0, winner);
          winners.set(record.hash, index);
        } else drop(0, index);
      });
    },
  };
}
