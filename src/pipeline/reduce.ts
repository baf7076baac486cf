/**
 * Reduce phase: all shards' intermediates, in shard order, through the stages (SPEC §2):
 * quality threshold (GPU kernel; per-source thresholds and top-fraction-of-tokens) →
 * heuristic rules → contamination (action "drop") → exact dedup. Decides every record's fate; outputs.ts writes them.
 *
 * Pass 0 quarantines problems and duplicate ids; pass 1 builds token-weighted score
 * histograms (for top-fraction thresholds and the report); pass 2 decides quality, heuristics,
 * contamination and exact-dedup survivors. Decisions depend only on the records and the config, never on the backend or
 * on how the map phase was sharded, so outputs are byte-identical across all of them.
 * Memory: one status byte per record, the messages of duplicate-id records, and one key
 * partition at a time (key-partitions.ts): ids and exact-dedup hashes are grouped out of core,
 * so memory does not grow with the number of distinct documents.
 */
import { TokenmixError } from '../errors.js';
import type { Backend } from '../backend.js';
import { threshold } from '../kernels/threshold.js';
import { createThresholdTotals, histogramEdges, mergeThresholdStats, type ThresholdTotals } from '../cpu/threshold.js';
import { topTokensThreshold } from '../filters/top-tokens.js';
import type { ResolvedInput } from '../io/types.js';
import { checkQualitySources, type CurateConfig } from './config.js';
import type { ShardMarker, ShardRecord } from './shard.js';
import { chunked, shardRecords } from './records.js';
import { dict, own } from '../dict.js';
import { join } from 'node:path';
import { KeyPartitions, partitionCount, RECORDS_PER_PARTITION } from './key-partitions.js';

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

export async function decide(
  config: CurateConfig,
  inputs: ResolvedInput[],
  markers: ShardMarker[],
  workDir: string,
  backend: Backend,
  recordsPerPartition = RECORDS_PER_PARTITION,
): Promise<Decisions> {
  const sources = [...new Set(markers.flatMap((m) => Object.keys(m.sources)))].sort();
  const sourceIndex = new Map(sources.map((s, i) => [s, i]));
  const quality = config.filters.quality;
  checkQualitySources(quality, sources, markers.flatMap((m) => m.quarantined_sources ?? []));
  const fates = markers.map((m) => new Uint8Array(m.records + m.problems));
  const partitions = partitionCount(markers.reduce((sum, m) => sum + m.records, 0), recordsPerPartition);

  // Pass 0: problems are quarantined; duplicate ids are found out of core, grouped by id.
  const ids = new KeyPartitions(join(workDir, 'reduce', 'ids'), partitions);
  for (const [shard] of markers.entries()) {
    let index = 0;
    for await (const record of shardRecords(workDir, markers[shard])) {
      if (!isValid(record)) fates[shard][index] = Fate.quarantined;
      else ids.add(record.id, JSON.stringify([record.id, shard, index, record.row]));
      index++;
    }
  }
  ids.close();
  const duplicateIds = await findDuplicateIds(config, inputs, ids, fates);
  ids.remove();

  // Pass 1: score histograms over every record entering the quality stage.
  const histogramSpec = quality?.histogram ?? { min: 0, max: 1, bins: 1 };
  let totals: ThresholdTotals | null = quality ? createThresholdTotals(sources.length, histogramSpec.bins) : null;
  const fixed = new Float32Array(sources.length).fill(-Infinity);
  if (quality) for (const [name, t] of Object.entries(quality.thresholds)) fixed[sourceIndex.get(name)!] = t;
  for (const [shard] of markers.entries()) {
    if (!quality || !totals) break;
    let line = 0;
    for await (const chunk of chunked(shardRecords(workDir, markers[shard]), config.batch_size)) {
      const entering: Valid[] = [];
      for (const record of chunk) if (fates[shard][line++] === Fate.kept && isValid(record)) entering.push(record);
      if (entering.length > 0) {
        const result = await threshold(backend, toBatch(entering, sourceIndex), { thresholds: fixed, histogram: histogramSpec });
        totals = mergeThresholdStats(totals, result.stats);
      }
    }
  }

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

  // Pass 2: quality → heuristics → contamination in input order; exact-dedup candidates go
  // to partitions by text hash and are decided partition by partition.
  const dropContaminated = config.contamination?.action === 'drop';
  const hashes = config.dedup.exact ? new KeyPartitions(join(workDir, 'reduce', 'hashes'), partitions) : null;
  for (const [shard] of markers.entries()) {
    let line = 0;
    for await (const chunk of chunked(shardRecords(workDir, markers[shard]), config.batch_size)) {
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
        else hashes?.add(record.hash, JSON.stringify([record.hash, record.score, record.id, shard, index]));
      });
    }
  }
  if (hashes) {
    hashes.close();
    await decideExactDuplicates(hashes, config.dedup.keep === 'best-quality', fates);
    hashes.remove();
  }
  return { sources, fates, duplicateIds, quality: outcome };
}

/**
 * Marks every record whose id an earlier record (in input order) already has; returns their
 * messages per shard and row. With `on_error: "fail"`, throws for the first such record in
 * input order, as a streaming pass would.
 */
async function findDuplicateIds(config: CurateConfig, inputs: ResolvedInput[], ids: KeyPartitions, fates: Uint8Array[]): Promise<Map<number, Map<number, string>>> {
  const duplicateIds = new Map<number, Map<number, string>>();
  let earliest: { shard: number; index: number; message: string } | null = null;
  for (let p = 0; p < ids.count; p++) {
    const first = new Map<string, string>();
    for await (const line of ids.lines(p)) {
      const [id, shard, index, row] = JSON.parse(line) as [string, number, number, number];
      const where = location(inputs[shard], row);
      const seen = first.get(id);
      if (seen === undefined) {
        first.set(id, where);
        continue;
      }
      const message = `tokenmix: ${where}: field "${config.fields.id}": duplicate id ${JSON.stringify(id)} (first seen at ${seen})`;
      fates[shard][index] = Fate.quarantined;
      if (!duplicateIds.has(shard)) duplicateIds.set(shard, new Map());
      duplicateIds.get(shard)!.set(row, message);
      if (earliest === null || shard < earliest.shard || (shard === earliest.shard && index < earliest.index)) earliest = { shard, index, message };
    }
  }
  if (earliest && config.on_error === 'fail') throw new TokenmixError(`${earliest.message}; ids must be unique (or set "on_error": "quarantine")`);
  return duplicateIds;
}

/**
 * Exact dedup within each hash partition: `first` keeps the earliest record of a text (lines
 * are in input order); `best-quality` keeps the highest score, ties broken by the smaller id
 * (ids are unique here, so the winner does not depend on order).
 */
async function decideExactDuplicates(hashes: KeyPartitions, bestQuality: boolean, fates: Uint8Array[]): Promise<void> {
  for (let p = 0; p < hashes.count; p++) {
    const winners = new Map<string, { score: number; id: string; shard: number; index: number }>();
    for await (const line of hashes.lines(p)) {
      const [hash, rawScore, id, shard, index] = JSON.parse(line) as [string, number | null, string, number, number];
      const score = rawScore ?? -Infinity;
      const winner = winners.get(hash);
      if (!winner) {
        winners.set(hash, { score, id, shard, index });
      } else if (bestQuality && (score > winner.score || (score === winner.score && id < winner.id))) {
        fates[winner.shard][winner.index] = Fate.exactDuplicate;
        winners.set(hash, { score, id, shard, index });
      } else {
        fates[shard][index] = Fate.exactDuplicate;
      }
    }
  }
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
