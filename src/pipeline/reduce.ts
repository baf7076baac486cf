/**
 * Reduce phase: all shards' intermediates, in shard order, through the stages (SPEC §2):
 * quality threshold (GPU kernel; per-source thresholds and top-fraction-of-tokens) →
 * heuristic rules → contamination (action "drop") → exact dedup. Decides every record's fate; outputs.ts writes them.
 *
 * Pass 1 builds token-weighted score histograms (for top-fraction thresholds and the
 * report) and finds duplicate ids; pass 2 decides quality, heuristics and exact-dedup
 * survivors. Decisions depend only on the records and the config, never on the backend or
 * on how the map phase was sharded, so outputs are byte-identical across all of them.
 * Memory: one status byte per record, plus the ids and the exact-dedup hashes of distinct
 * records (bounded by distinct documents, not by corpus bytes).
 */
import { TokenmixError } from '../errors.js';
import type { Backend } from '../backend.js';
import { threshold } from '../kernels/threshold.js';
import { createThresholdTotals, histogramEdges, mergeThresholdStats, type ThresholdTotals } from '../cpu/threshold.js';
import { topTokensThreshold } from '../filters/top-tokens.js';
import type { ResolvedInput } from '../io/types.js';
import { checkQualitySources, type CurateConfig } from './config.js';
import type { ShardMarker, ShardRecord } from './shard.js';
import { shardPaths } from './shard.js';
import { chunked, shardRecords } from './records.js';
import { dict, own } from '../dict.js';

/** A record's fate. */
export const Fate = { kept: 0, quarantined: 1, quality: 2, heuristics: 3, exactDuplicate: 4, contaminated: 5, nearDuplicate: 6 } as const;
export type FateCode = (typeof Fate)[keyof typeof Fate];

export interface QualityOutcome {
  field: string;
  /** The thresholds applied per source (fixed, or derived from top_fraction; the stricter of both). */
  thresholds: Record<string, number | null>;
  histogram: { min: number; max: number; bins: number; edges: number[] };
  /** Token-weighted score histogram per source (all scored records entering the stage). */
  tokens_by_bin: Record<string, number[]>;
}

export interface Decisions {
  sources: string[];
  /** Per shard, per intermediate line: the record's fate. */
  fates: Uint8Array[];
  /** Per shard: rows of records quarantined in reduce (duplicate ids), with their message. */
  duplicateIds: Map<number, Map<number, string>>;
  quality: QualityOutcome | null;
}

type Valid = Extract<ShardRecord, { hash: string }>;
const isValid = (r: ShardRecord): r is Valid => r.id !== undefined;

/** Where a record is, as the readers print it: `file:LINE` for JSONL, `file row N` for Parquet/Arrow. */
function location(input: ResolvedInput, row: number): string {
  return input.format === 'jsonl' ? `${input.displayPath}:${row}` : `${input.displayPath} row ${row}`;
}

export async function decide(config: CurateConfig, inputs: ResolvedInput[], markers: ShardMarker[], workDir: string, backend: Backend): Promise<Decisions> {
  const sources = [...new Set(markers.flatMap((m) => Object.keys(m.sources)))].sort();
  const sourceIndex = new Map(sources.map((s, i) => [s, i]));
  const quality = config.filters.quality;
  checkQualitySources(quality, sources, markers.flatMap((m) => m.quarantined_sources ?? []));
  const fates = markers.map((m) => new Uint8Array(m.records + m.problems));
  const duplicateIds = new Map<number, Map<number, string>>();

  // Pass 1: duplicate ids, and score histograms over every record entering the quality stage.
  const seenIds = new Map<string, string>();
  const histogramSpec = quality?.histogram ?? { min: 0, max: 1, bins: 1 };
  let totals: ThresholdTotals | null = quality ? createThresholdTotals(sources.length, histogramSpec.bins) : null;
  const fixed = new Float32Array(sources.length).fill(-Infinity);
  if (quality) for (const [name, t] of Object.entries(quality.thresholds)) fixed[sourceIndex.get(name)!] = t;
  for (const [shard] of markers.entries()) {
    let line = 0;
    for await (const chunk of chunked(shardRecords(shardPaths(workDir, shard).records), config.batch_size)) {
      const entering: Valid[] = [];
      for (const record of chunk) {
        const index = line++;
        if (!isValid(record)) {
          fates[shard][index] = Fate.quarantined;
          continue;
        }
        const where = location(inputs[shard], record.row);
        const first = seenIds.get(record.id);
        if (first !== undefined) {
          const message = `tokenmix: ${where}: field "${config.fields.id}": duplicate id ${JSON.stringify(record.id)} (first seen at ${first})`;
          if (config.on_error === 'fail') throw new TokenmixError(`${message}; ids must be unique (or set "on_error": "quarantine")`);
          fates[shard][index] = Fate.quarantined;
          if (!duplicateIds.has(shard)) duplicateIds.set(shard, new Map());
          duplicateIds.get(shard)!.set(record.row, message);
          continue;
        }
        seenIds.set(record.id, where);
        entering.push(record);
      }
      if (quality && totals && entering.length > 0) {
        const result = await threshold(backend, toBatch(entering, sourceIndex), { thresholds: fixed, histogram: histogramSpec });
        totals = mergeThresholdStats(totals, result.stats);
      }
    }
  }
  seenIds.clear();

  // Final thresholds: fixed ones, raised to the top-fraction cut where that is stricter.
  let outcome: QualityOutcome | null = null;
  const final = Float32Array.from(fixed);
  if (quality && totals) {
    const edges = histogramEdges(histogramSpec);
    const applied: Record<string, number | null> = dict();
    const byBin: Record<string, number[]> = dict();
    for (const [s, name] of sources.entries()) {
      const row = totals.histogram.subarray(s * histogramSpec.bins, (s + 1) * histogramSpec.bins);
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
    outcome = { field: quality.field, thresholds: applied, histogram: { ...histogramSpec, edges: Array.from(edges) }, tokens_by_bin: byBin };
  }

  // Pass 2: quality → heuristics → contamination → exact dedup, in input order.
  const dropContaminated = config.contamination?.action === 'drop';
  const firstOfHash = new Map<string, { score: number; id: string; shard: number; index: number }>();
  const bestQuality = config.dedup.keep === 'best-quality';
  for (const [shard] of markers.entries()) {
    let line = 0;
    for await (const chunk of chunked(shardRecords(shardPaths(workDir, shard).records), config.batch_size)) {
      const start = line;
      line += chunk.length;
      const entering: { record: Valid; index: number }[] = [];
      chunk.forEach((record, offset) => {
        if (fates[shard][start + offset] === Fate.kept && isValid(record)) entering.push({ record, index: start + offset });
      });
      let keep: Uint8Array | null = null;
      if (quality && entering.length > 0) {
        const result = await threshold(backend, toBatch(entering.map((e) => e.record), sourceIndex), { thresholds: final, histogram: histogramSpec });
        keep = result.keepMask;
      }
      entering.forEach(({ record, index }, i) => {
        if (keep && keep[i] === 0) fates[shard][index] = Fate.quality;
        else if (record.heuristic !== null) fates[shard][index] = Fate.heuristics;
        else if (dropContaminated && record.eval_like) fates[shard][index] = Fate.contaminated;
        else if (config.dedup.exact) {
          const score = record.score ?? -Infinity;
          const winner = firstOfHash.get(record.hash);
          if (!winner) {
            firstOfHash.set(record.hash, { score, id: record.id, shard, index });
          } else if (bestQuality && (score > winner.score || (score === winner.score && record.id < winner.id))) {
            fates[winner.shard][winner.index] = Fate.exactDuplicate;
            firstOfHash.set(record.hash, { score, id: record.id, shard, index });
          } else {
            fates[shard][index] = Fate.exactDuplicate;
          }
        }
      });
    }
  }
  return { sources, fates, duplicateIds, quality: outcome };
}

function toBatch(records: Valid[], sourceIndex: Map<string, number>) {
  return {
    // A record without a score cannot reach here when a quality filter is set (the reader
    // reports it as a problem); NaN is the kernel's "no score" all the same.
    scores: Float32Array.from(records, (r) => r.score ?? NaN),
    sources: Uint32Array.from(records, (r) => sourceIndex.get(r.source)!),
    tokens: Uint32Array.from(records, (r) => r.tokens),
  };
}
