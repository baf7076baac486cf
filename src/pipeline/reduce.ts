/**
 * Reduce phase: all shards' intermediates, in shard order, through the curation steps
 * (src/steps/curation.ts, SPEC §2): duplicate ids → quality threshold (GPU kernel; per-source
 * thresholds and top-fraction-of-tokens) → heuristic rules → contamination → exact dedup
 * (→ near dedup, near.ts). The step runner (src/steps/runner.ts) decides every record's fate and
 * accounts for it; outputs.ts writes them.
 *
 * The runner reads the intermediates once per pass: duplicate ids; the quality histograms
 * (for top-fraction thresholds and the report); quality, heuristics, contamination and the
 * exact-dedup keys; then near dedup. Decisions depend only on the records and the config, never
 * on the backend or on how the map phase was sharded, so outputs are byte-identical across all
 * of them. Memory: one fate byte per record, the messages of duplicate-id records, and one key
 * partition at a time (key-partitions.ts): ids and exact-dedup hashes are grouped out of core,
 * so memory does not grow with the number of distinct documents.
 */
import { TokenmixError } from '../errors.js';
import type { Backend } from '../backend.js';
import type { ResolvedInput } from '../io/types.js';
import { checkQualitySources, type CurateConfig } from './config.js';
import type { ShardMarker, ShardRecord } from './shard.js';
import { chunked, shardRecords } from './records.js';
import { join } from 'node:path';
import { KeyPartitions, partitionCount, RECORDS_PER_PARTITION } from './key-partitions.js';
import { StepRunner } from '../steps/runner.js';
import type { Step } from '../steps/step.js';
import {
  contaminationStep, duplicateIdStep, exactDedupStep, heuristicsStep, qualityStep, replacesWinner, type KeyIndex, type QualityOutcome,
} from '../steps/curation.js';

export type { QualityOutcome };

/** A record of the map phase's intermediates, as the steps see it. */
export type ReduceRecord = Extract<ShardRecord, { hash: string }>;

export interface Decisions {
  sources: string[];
  /** Per shard, per intermediate line: the record's fate (src/steps/stages.ts). */
  fates: Uint8Array[];
  /** Per shard: rows of records quarantined in reduce (duplicate ids), with their message. */
  duplicateIds: Map<number, Map<number, string>>;
  quality: QualityOutcome | null;
  /** What decided the fates, and accounts for them (outputs.ts). */
  runner: StepRunner<ReduceRecord>;
}

/** Where a record is, as the readers print it: `file:LINE` for JSONL, `file row N` for Parquet/Arrow. */
function location(input: ResolvedInput, row: number): string {
  return input.format === 'jsonl' ? `${input.displayPath}:${row}` : `${input.displayPath} row ${row}`;
}

/** A shard's intermediate lines; problems (quarantined before any step) as null. */
async function* records(workDir: string, marker: ShardMarker): AsyncGenerator<ReduceRecord | null> {
  for await (const record of shardRecords(workDir, marker)) yield record.id === undefined ? null : record;
}

export async function decide(
  config: CurateConfig,
  inputs: ResolvedInput[],
  markers: ShardMarker[],
  workDir: string,
  backend: Backend,
  recordsPerPartition = RECORDS_PER_PARTITION,
  /** The near-dedup step (near.ts), last, when `dedup.near` is set. */
  near: Step<ReduceRecord> | null = null,
): Promise<Decisions> {
  const sources = [...new Set(markers.flatMap((m) => Object.keys(m.sources)))].sort();
  checkQualitySources(config.filters.quality, sources, markers.flatMap((m) => m.quarantined_sources ?? []));
  const partitions = partitionCount(markers.reduce((sum, m) => sum + m.records, 0), recordsPerPartition);
  const runner = new StepRunner<ReduceRecord>(
    markers.map((m) => ({ length: m.records + m.problems, batches: () => chunked(records(workDir, m), config.batch_size) })),
  );

  // Duplicate ids and exact-dedup candidates are grouped out of core, by id and by text hash.
  let duplicateIds = new Map<number, Map<number, string>>();
  const ids = new KeyPartitions(join(workDir, 'reduce', 'ids'), partitions);
  const idIndex: KeyIndex<ReduceRecord> = {
    add: (record, shard, index) => ids.add(record.id, JSON.stringify([record.id, shard, index, record.row])),
    async decide(drop) {
      ids.close();
      duplicateIds = await findDuplicateIds(config, inputs, ids, drop);
      ids.remove();
    },
  };
  const hashes = config.dedup.exact ? new KeyPartitions(join(workDir, 'reduce', 'hashes'), partitions) : null;
  const hashIndex: KeyIndex<ReduceRecord> | null = hashes && {
    add: (record, shard, index) => hashes.add(record.hash, JSON.stringify([record.hash, record.score, record.id, shard, index])),
    async decide(drop) {
      hashes.close();
      await decideExactDuplicates(hashes, config.dedup.keep === 'best-quality', drop);
      hashes.remove();
    },
  };
  const quality = config.filters.quality ? qualityStep<ReduceRecord>(config.filters.quality, sources, backend) : null;
  const steps: (Step<ReduceRecord> | null)[] = [
    duplicateIdStep(idIndex),
    quality,
    config.filters.heuristics ? heuristicsStep() : null,
    config.contamination ? contaminationStep(config.contamination.action) : null,
    hashIndex && exactDedupStep(hashIndex),
    near,
  ];
  await runner.run(steps.filter((step) => step !== null));
  return { sources, fates: runner.fates, duplicateIds, quality: quality?.outcome() ?? null, runner };
}

/**
 * Marks every record whose id an earlier record (in input order) already has; returns their
 * messages per shard and row. With `on_error: "fail"`, throws for the first such record in
 * input order, as a streaming pass would.
 */
async function findDuplicateIds(config: CurateConfig, inputs: ResolvedInput[], ids: KeyPartitions, drop: (shard: number, index: number) => void): Promise<Map<number, Map<number, string>>> {
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
      drop(shard, index);
      if (!duplicateIds.has(shard)) duplicateIds.set(shard, new Map());
      duplicateIds.get(shard)!.set(row, message);
      if (earliest === null || shard < earliest.shard || (shard === earliest.shard && index < earliest.index)) earliest = { shard, index, message };
    }
  }
  if (earliest && config.on_error === 'fail') throw new TokenmixError(`${earliest.message}; ids must be unique (or set "on_error": "quarantine")`);
  return duplicateIds;
}

/**
 * Exact dedup within each hash partition, lines in input order, by the rule of
 * `replacesWinner` (src/steps/curation.ts): reports every record that is not its text's winner.
 */
async function decideExactDuplicates(hashes: KeyPartitions, bestQuality: boolean, drop: (shard: number, index: number) => void): Promise<void> {
  for (let p = 0; p < hashes.count; p++) {
    const winners = new Map<string, { score: number | null; id: string; shard: number; index: number }>();
    for await (const line of hashes.lines(p)) {
      const [hash, score, id, shard, index] = JSON.parse(line) as [string, number | null, string, number, number];
      const winner = winners.get(hash);
      if (!winner) {
        winners.set(hash, { score, id, shard, index });
      } else if (replacesWinner(bestQuality, { score, id }, winner)) {
        drop(winner.shard, winner.index);
        winners.set(hash, { score, id, shard, index });
      } else {
        drop(shard, index);
      }
    }
  }
}
