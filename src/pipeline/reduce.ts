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
 * partition at a time (work/key-partitions.ts): ids and exact-dedup hashes are grouped out of core,
 * so memory does not grow with the number of distinct documents.
 */
import { TokenmixError } from '../errors.js';
import type { Backend } from '../backend.js';
import type { ResolvedInput } from '../io/types.js';
import { checkQualitySources, type CurateConfig } from './config.js';
import type { ShardMarker, ShardRecord } from './shard.js';
import { chunked, shardRecords } from './records.js';
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { inInputOrder, partitionCount, partitionEntries, PartitionWriter, RECORDS_PER_PARTITION, repeatedKeys, type PartitionedRun } from '../work/key-partitions.js';
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
function* records(workDir: string, marker: ShardMarker): Generator<ReduceRecord | null> {
  for (const record of shardRecords(workDir, marker)) yield record.id === undefined ? null : record;
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

  // Duplicate ids and exact-dedup candidates are grouped out of core, by id and by text hash;
  // `order` (a record's position over all shards) keeps input order across partitions.
  const dir = join(workDir, 'reduce');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const lineBase = markers.map((_, shard) => markers.slice(0, shard).reduce((sum, m) => sum + m.records + m.problems, 0));
  let duplicateIds = new Map<number, Map<number, string>>();
  const ids = new PartitionWriter(join(dir, 'ids'), partitions);
  const idIndex: KeyIndex<ReduceRecord> = {
    add: (record, shard, index) => ids.add(record.id, JSON.stringify([record.id, lineBase[shard] + index, shard, index, record.row])),
    async decide(drop) {
      duplicateIds = findDuplicateIds(config, inputs, ids.close(), partitions, drop);
    },
  };
  const hashes = config.dedup.exact ? new PartitionWriter(join(dir, 'hashes'), partitions) : null;
  const hashIndex: KeyIndex<ReduceRecord> | null = hashes && {
    add: (record, shard, index) => hashes.add(record.hash, JSON.stringify([record.hash, lineBase[shard] + index, record.score, record.id, shard, index])),
    async decide(drop) {
      decideExactDuplicates(hashes.close(), partitions, config.dedup.keep === 'best-quality', drop);
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
  try {
    await runner.run(steps.filter((step) => step !== null));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { sources, fates: runner.fates, duplicateIds, quality: quality?.outcome() ?? null, runner };
}

/**
 * Marks every record whose id an earlier record (in input order) already has
 * (work/key-partitions.ts `repeatedKeys`, the rule dedup's id check shares); returns their
 * messages per shard and row. With `on_error: "fail"`, throws for the first such record in
 * input order, as a streaming pass would.
 */
type IdLine = [id: string, order: number, shard: number, index: number, row: number];

function findDuplicateIds(config: CurateConfig, inputs: ResolvedInput[], run: PartitionedRun, partitions: number, drop: (shard: number, index: number) => void): Map<number, Map<number, string>> {
  const perPartition = Array.from({ length: partitions }, (_, p) => repeatedKeys(partitionEntries<IdLine>([run], p)));
  const duplicateIds = new Map<number, Map<number, string>>();
  const repeats = inInputOrder(perPartition);
  for (const { repeat: [id, , shard, index, row], first } of repeats) {
    const message = `tokenmix: ${location(inputs[shard], row)}: field "${config.fields.id}": duplicate id ${JSON.stringify(id)} (first seen at ${location(inputs[first[2]], first[4])})`;
    if (config.on_error === 'fail') throw new TokenmixError(`${message}; ids must be unique (or set "on_error": "quarantine")`);
    drop(shard, index);
    if (!duplicateIds.has(shard)) duplicateIds.set(shard, new Map());
    duplicateIds.get(shard)!.set(row, message);
  }
  return duplicateIds;
}

/**
 * Exact dedup within each hash partition, lines in input order, by the rule of
 * `replacesWinner` (src/steps/curation.ts): reports every record that is not its text's winner.
 */
function decideExactDuplicates(run: PartitionedRun, partitions: number, bestQuality: boolean, drop: (shard: number, index: number) => void): void {
  for (let p = 0; p < partitions; p++) {
    const winners = new Map<string, { score: number | null; id: string; shard: number; index: number }>();
    for (const [hash, , score, id, shard, index] of partitionEntries<[string, number, number | null, string, number, number]>([run], p)) {
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
