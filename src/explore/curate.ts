/**
 * Curation of an in-memory corpus with the decisions of the Node pipeline's reduce phase
 * (src/pipeline/reduce.ts, SPEC §2), stage by stage in input order:
 *   duplicate ids (quarantined: the first record with an id wins)
 *   → quality threshold (f32 compare in the threshold kernel; top-fraction thresholds from its
 *     token-weighted score histogram, raised to the stricter of fixed and derived)
 *   → heuristic rules → contamination (action "drop") → exact dedup (keep first, or best-quality
 *     with ties broken by id) → near dedup (explorer only, see near-dedup.ts).
 * Same records + same config ⇒ the same kept set as `tokenmix curate`/`mix`, on either backend.
 */
import type { Backend } from '../backend.js';
import { createThresholdTotals, histogramEdges, mergeThresholdStats } from '../cpu/threshold.js';
import { topTokensThreshold } from '../filters/top-tokens.js';
import { threshold } from '../kernels/threshold.js';
import { checkQualitySources, scoreField, type CurateConfig } from '../pipeline/config.js';
import type { ExploreCorpus } from './corpus.js';
import { NearDedupIndex, nearDuplicates, type NearDedupOutcome, type NearDedupParams } from './near-dedup.js';
import { dict, own } from '../dict.js';

/** Why a record is not kept; the stage names are the manifest's. */
export const STAGES = ['quarantine', 'quality', 'heuristics', 'contamination', 'exact_dedup', 'near_dedup'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageCounts {
  stage: StageName;
  /** Per source (corpus order) and in total: documents and tokens entering and leaving. */
  docsIn: number[];
  docsOut: number[];
  tokensIn: number[];
  tokensOut: number[];
}

export interface Curation {
  /** 1 = kept. */
  keep: Uint8Array;
  /** Stage that dropped each record, or null when kept. */
  droppedBy: (StageName | null)[];
  /** Eval-like flag of each record (all 0 without a contamination config). */
  evalLike: Uint8Array;
  /** Thresholds applied per source, as reported (fixed, or derived from top_fraction). */
  thresholds: Record<string, number | null> | null;
  stages: StageCounts[];
  near: NearDedupOutcome | null;
}

/** The part of a config that decides curation (a cache key: weights and budget do not matter). */
export function curationKey(config: CurateConfig): string {
  const { filters, dedup, contamination, seed, fields } = config;
  return JSON.stringify({ filters, dedup, contamination, seed, quality: fields.quality });
}

export class Curator {
  private readonly nearIndexes = new Map<string, Promise<NearDedupIndex>>();

  constructor(readonly corpus: ExploreCorpus, readonly backend: Backend) {}

  async curate(config: CurateConfig): Promise<Curation> {
    const { corpus } = this;
    const n = corpus.size;
    const sources = corpus.sources;
    const sourceIndex = new Map(sources.map((s, i) => [s, i]));
    const quality = config.filters.quality;
    checkQualitySources(quality, sources);
    const droppedBy: (StageName | null)[] = new Array(n).fill(null);
    const ledger = new Ledger(corpus);
    const alive = () => Array.from({ length: n }, (_, i) => i).filter((i) => droppedBy[i] === null);
    const drop = (stage: StageName, records: Iterable<number>) => {
      for (const r of records) droppedBy[r] = stage;
    };

    drop('quarantine', alive().filter((i) => corpus.duplicateId[i] === 1));
    ledger.record('quarantine', [...Array(n).keys()], alive());

    // Quality: pass 1 over every entering record (token-weighted histogram for top_fraction), pass 2 cuts.
    let applied: Record<string, number | null> | null = null;
    if (quality) {
      const entering = alive();
      const scores = corpus.scores(quality.field);
      const batch = {
        scores: Float32Array.from(entering, (i) => scores[i]),
        sources: Uint32Array.from(entering, (i) => corpus.sourceOf[i]),
        tokens: Uint32Array.from(entering, (i) => corpus.tokenCounts[i]),
      };
      const fixed = new Float32Array(sources.length).fill(-Infinity);
      for (const [name, t] of Object.entries(quality.thresholds)) fixed[sourceIndex.get(name)!] = t;
      const final = Float32Array.from(fixed);
      applied = dict();
      const topFraction = Object.keys(quality.top_fraction).length > 0;
      const histogram = quality.histogram;
      let totals = createThresholdTotals(sources.length, histogram.bins);
      if (topFraction && entering.length > 0) totals = mergeThresholdStats(totals, (await threshold(this.backend, batch, { thresholds: fixed, histogram })).stats);
      const edges = histogramEdges(histogram);
      for (const [s, name] of sources.entries()) {
        let reported: number | null = own(quality.thresholds, name) ?? null;
        const p = quality.top_fraction[name];
        if (p !== undefined) {
          const choice = topTokensThreshold(totals.histogram.subarray(s * histogram.bins, (s + 1) * histogram.bins), edges, p);
          // As in the reduce phase: bin 0 also holds scores below histogram.min, so it means "no cut".
          const derived = choice.bin === 0 ? -Infinity : choice.threshold;
          if (derived > (reported ?? -Infinity)) reported = derived;
          final[s] = Math.max(final[s], derived);
        }
        applied[name] = reported;
      }
      if (entering.length > 0) {
        const { keepMask } = await threshold(this.backend, batch, { thresholds: final, histogram });
        drop('quality', entering.filter((_, k) => keepMask[k] === 0));
      }
      ledger.record('quality', entering, alive());
    }

    const heuristics = config.filters.heuristics;
    if (heuristics) {
      const entering = alive();
      const verdicts = corpus.heuristicVerdicts(heuristics);
      drop('heuristics', entering.filter((i) => verdicts[i] !== null));
      ledger.record('heuristics', entering, alive());
    }

    const contamination = config.contamination;
    const evalLike = contamination ? corpus.evalLike(contamination.ngram, contamination.min_overlap) : new Uint8Array(n);
    if (contamination) {
      // A stage either way, as in the manifest: "keep" counts eval-like documents, "drop" removes them.
      const entering = alive();
      if (contamination.action === 'drop') drop('contamination', entering.filter((i) => evalLike[i] === 1));
      ledger.record('contamination', entering, alive());
    }

    // The score `keep: best-quality` ranks by: the filter's field, else the first of fields.quality.
    const rankField = scoreField(config);
    const scoreOf = (i: number) => (rankField === undefined ? -Infinity : (corpus.records[i].scores?.[rankField] ?? -Infinity));
    const idOf = (i: number) => corpus.records[i].id;
    const bestQuality = config.dedup.keep === 'best-quality';
    if (config.dedup.exact) {
      const entering = alive();
      const keys = corpus.exactDedupKeys();
      const winner = new Map<number, number>();
      for (const i of entering) {
        const current = winner.get(keys[i]);
        if (current === undefined) {
          winner.set(keys[i], i);
        } else if (bestQuality && (scoreOf(i) > scoreOf(current) || (scoreOf(i) === scoreOf(current) && idOf(i) < idOf(current)))) {
          droppedBy[current] = 'exact_dedup';
          winner.set(keys[i], i);
        } else {
          droppedBy[i] = 'exact_dedup';
        }
      }
      ledger.record('exact_dedup', entering, alive());
    }

    let near: NearDedupOutcome | null = null;
    if (config.dedup.near) {
      const entering = alive();
      const { ngram, num_hashes: numHashes, threshold: jaccard, bands, rows, cluster, sketch } = config.dedup.near;
      const index = await this.nearIndex({ ngram, numHashes, seed: config.seed, sketch });
      near = nearDuplicates(index, entering, { threshold: jaccard, bands, rows, keep: config.dedup.keep, cluster, score: scoreOf, id: idOf });
      drop('near_dedup', near.dropped);
      ledger.record('near_dedup', entering, alive());
    }

    const keep = Uint8Array.from(droppedBy, (d) => (d === null ? 1 : 0));
    return { keep, droppedBy, evalLike, thresholds: applied, stages: ledger.stages, near };
  }

  private nearIndex(params: NearDedupParams): Promise<NearDedupIndex> {
    const key = JSON.stringify(params);
    let index = this.nearIndexes.get(key);
    if (index === undefined) {
      index = NearDedupIndex.build(this.corpus, params, this.backend);
      index.catch(() => this.nearIndexes.delete(key));
      this.nearIndexes.set(key, index);
    }
    return index;
  }
}

/** Per-stage counts in documents and tokens (SPEC §2: both, always). */
class Ledger {
  readonly stages: StageCounts[] = [];
  constructor(private readonly corpus: ExploreCorpus) {}

  record(stage: StageName, entering: readonly number[], leaving: readonly number[]): void {
    const k = this.corpus.sources.length;
    const tally = (records: readonly number[]) => {
      const docs = new Array<number>(k).fill(0);
      const tokens = new Array<number>(k).fill(0);
      for (const r of records) {
        docs[this.corpus.sourceOf[r]]++;
        tokens[this.corpus.sourceOf[r]] += this.corpus.tokenCounts[r];
      }
      return { docs, tokens };
    };
    const a = tally(entering);
    const b = tally(leaving);
    this.stages.push({ stage, docsIn: a.docs, docsOut: b.docs, tokensIn: a.tokens, tokensOut: b.tokens });
  }
}
