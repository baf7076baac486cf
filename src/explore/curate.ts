/**
 * Curation of an in-memory corpus: the curation steps of `tokenmix curate`'s reduce
 * (src/steps/curation.ts, SPEC §2) run by the same step runner over the same per-record facts,
 * with their keys held in memory: duplicate ids (quarantined) → quality threshold → heuristic
 * rules → contamination → exact dedup → near dedup (src/steps/near-memory.ts: the dedup
 * engine's candidates, verification and cluster rule). The runner's accounting gives the funnel.
 * Same records + same config ⇒ the same kept set and stage counts as `tokenmix curate`/`mix`.
 */
import type { Backend } from '../backend.js';
import { checkQualitySources, scoreField, type CurateConfig } from '../pipeline/config.js';
import { Ledger } from '../steps/accounting.js';
import {
  contaminationStep, duplicateIdStep, exactDedupStep, heuristicsStep, memoryExactIndex, memoryRepeatedIds, qualityStep, type CurationRecord,
} from '../steps/curation.js';
import { memoryNearDedupStep, nearPlan, type NearOutcome, type NearRequest } from '../steps/near-memory.js';
import { StepRunner } from '../steps/runner.js';
import { dropOf, DUPLICATE_ID, STAGE_NAMES, type StageName } from '../steps/stages.js';
import type { Step } from '../steps/step.js';
import type { ExploreCorpus } from './corpus.js';
import { NearDedupIndex, type NearDedupParams } from './near-dedup.js';

/** Why a record is not kept; the stage names are the manifest's (src/steps/stages.ts). */
export const STAGES = STAGE_NAMES;
export type { StageName };

export interface StageCounts {
  stage: StageName;
  /** Per source (corpus order): documents and tokens entering and leaving. */
  docsIn: number[];
  docsOut: number[];
  tokensIn: number[];
  tokensOut: number[];
  /** Documents per source under each of the step's counters (contamination: `eval_like`). */
  counted: Record<string, number[]>;
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
  /** Near dedup's outcome; its document d is corpus record members[d]. */
  near: (NearOutcome & { members: number[] }) | null;
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
    checkQualitySources(config.filters.quality, sources);
    const records = this.records(config);
    const evalLike = Uint8Array.from(records, (r) => (r.eval_like ? 1 : 0));

    const quality = config.filters.quality ? qualityStep<CurationRecord>(config.filters.quality, sources, this.backend) : null;
    let near: ReturnType<typeof memoryNearDedupStep<CurationRecord>> | null = null;
    if (config.dedup.near) {
      const { ngram, num_hashes: numHashes, threshold, bands, rows, cluster, sketch } = config.dedup.near;
      const index = await this.nearIndex({ ngram, numHashes, seed: config.seed, sketch });
      const request: NearRequest = { threshold, numHashes, bands, rows, keep: config.dedup.keep, cluster };
      const plan = nearPlan(request);
      near = memoryNearDedupStep(request, (entering) => index.documents(entering.map((e) => e.index), plan, records));
    }
    const steps: (Step<CurationRecord> | null)[] = [
      duplicateIdStep(memoryRepeatedIds(records)),
      quality,
      config.filters.heuristics ? heuristicsStep() : null,
      config.contamination ? contaminationStep(config.contamination.action) : null,
      config.dedup.exact ? exactDedupStep(memoryExactIndex(records, config.dedup.keep === 'best-quality')) : null,
      near,
    ];
    const runner = new StepRunner<CurationRecord>([{ length: n, batches: () => batches(records, config.batch_size) }]);
    await runner.run(steps.filter((step) => step !== null));

    const fates = runner.fates[0];
    const ledger = new Ledger(runner.stages);
    records.forEach((r, i) => ledger.add(r.source, r.tokens, fates[i], DUPLICATE_ID));
    const stages = runner.report(ledger, sources).map((report): StageCounts => {
      const stage = report.name as StageName;
      const perSource = sources.map((s) => report.per_source[s]);
      const counted: Record<string, number[]> = {};
      for (const name of steps.find((step) => step?.stage === stage)?.counters ?? []) {
        counted[name] = sources.map((s) => runner.counter(stage, name)?.perSource.get(s)?.kept.docs ?? 0);
      }
      return {
        stage,
        docsIn: perSource.map((c) => c.docs_in),
        docsOut: perSource.map((c) => c.docs_out),
        tokensIn: perSource.map((c) => c.tokens_in),
        tokensOut: perSource.map((c) => c.tokens_out),
        counted,
      };
    });
    return {
      keep: fates.map((fate) => (fate === 0 ? 1 : 0)),
      droppedBy: Array.from(fates, (fate) => dropOf(fate)?.stage ?? null),
      evalLike,
      thresholds: quality?.outcome().thresholds ?? null,
      stages,
      near: near && { ...near.outcome(), members: near.entering().map((e) => e.index) },
    };
  }

  /** Each record's facts, as `tokenmix curate`'s map phase records them (src/pipeline/shard.ts). */
  private records(config: CurateConfig): CurationRecord[] {
    const { corpus } = this;
    const field = scoreField(config);
    const heuristics = config.filters.heuristics ? corpus.heuristicVerdicts(config.filters.heuristics) : null;
    const contamination = config.contamination;
    const evalLike = contamination ? corpus.evalLike(contamination.ngram, contamination.min_overlap) : null;
    const keys = corpus.exactDedupKeys();
    return corpus.records.map((r, i) => ({
      id: r.id,
      source: r.source,
      tokens: corpus.tokenCounts[i],
      score: field === undefined ? null : (r.scores?.[field] ?? null),
      heuristic: heuristics?.[i] ?? null,
      eval_like: evalLike?.[i] === 1,
      hash: String(keys[i]),
    }));
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

function* batches<T>(items: readonly T[], size: number): Generator<readonly T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
