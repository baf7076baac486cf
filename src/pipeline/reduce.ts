/**
 * Reduce phase: all shards' intermediates, in shard order, through the curation steps
 * (src/steps/curation.ts, SPEC §2): duplicate ids → quality threshold (GPU kernel; per-source
 * thresholds and top-fraction-of-tokens) → heuristic rules → contamination → exact dedup
 * (→ near dedup, near.ts). The step runner (src/steps/runner.ts) decides every record's fate and
 * accounts for it; outputs.ts writes them.
 *
 * Before the steps run, one task per intermediate file (key-scatter.ts, on the run's workers)
 * groups every record's id and text hash into key partitions, and one task per partition finds
 * the repeated ids. The runner then reads the intermediates once per pass: the quality
 * histograms (for top-fraction thresholds and the report), when a quality filter is set;
 * duplicate ids, quality, heuristics and contamination, with exact dedup decided per hash
 * partition at the end (a task each); then near dedup. With workers, the histograms and the
 * judging pass run unit by unit on them (judge-task.ts), unless the backend is a GPU (quality's
 * kernel runs beside the device). Decisions depend only on the records and the config, never
 * on the backend or on how the map phase was sharded, so outputs are byte-identical across all
 * of them. Memory: one fate byte per record (and one shared copy of the fates while exact
 * dedup decides), the messages of duplicate-id records, and one key partition at a time per
 * thread (work/key-partitions.ts): ids and exact-dedup hashes are grouped out of core, so
 * memory does not grow with the number of distinct documents.
 */
import type { Executor } from '../exec/executor.js';
import { TokenmixError } from '../errors.js';
import type { Backend } from '../backend.js';
import type { ResolvedInput } from '../io/types.js';
import { recordLocation } from '../io/resolve.js';
import { checkQualitySources, type CurateConfig } from './config.js';
import { unitRanges, type ShardMarker } from './shard.js';
import { chunked, stepRecords, type ReduceRecord } from './records.js';
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { inInputOrder, partitionCount, RECORDS_PER_PARTITION, type IdRepeatsTask, type PartitionedRun, type Repeat } from '../work/key-partitions.js';
import type { Task } from '../exec/executor.js';
import { scatterRuns, type ExactDecideTask, type IdLine, type KeyScatter, type KeyScatterTask } from './key-scatter.js';
import { StepRunner, type PieceRequest, type PieceResult } from '../steps/runner.js';
import type { CurateJudgeTask, CurateObserveTask } from './judge-task.js';
import type { Step } from '../steps/step.js';
import {
  contaminationStep, duplicateIdStep, exactDedupStep, heuristicsStep, qualityStep, type KeyIndex, type QualityOutcome, type RemoteObserveSpec,
} from '../steps/curation.js';

export type { QualityOutcome };

export type { ReduceRecord };

/** A record quarantined for a duplicate id: its input row, and its message. */
export interface DuplicateId {
  row: number;
  message: string;
}

export interface Decisions {
  sources: string[];
  /** Per shard, per intermediate line: the record's fate (src/steps/stages.ts). */
  fates: Uint8Array[];
  /** Per shard, by index in the shard (input order): records quarantined in reduce (duplicate ids). */
  duplicateIds: Map<number, Map<number, DuplicateId>>;
  quality: QualityOutcome | null;
  /** What decided the fates, and accounts for them (outputs.ts). */
  runner: StepRunner<ReduceRecord>;
}

/** A shard's intermediate lines, in part order; problems as null. */
function* records(workDir: string, marker: ShardMarker): Generator<ReduceRecord | null> {
  for (const file of marker.intermediates) yield* stepRecords(join(workDir, file));
}

/** Runs a task (key-scatter.ts, judge-task.ts, unit-outputs.ts, work/key-partitions.ts) on the run's workers, or here. */
export type ReduceTaskRun = <T>(task: Task) => Promise<T>;

/** Where the reduce's tasks run, and the threads they spread over (at least one key partition each). */
export interface ReduceTasks {
  run: ReduceTaskRun;
  workers: number;
  /** The pool behind `run`, when it is one (near dedup borrows it). */
  executor?: Executor;
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
  { run, workers }: ReduceTasks,
): Promise<Decisions> {
  const sources = [...new Set(markers.flatMap((m) => Object.keys(m.sources)))].sort();
  checkQualitySources(config.filters.quality, sources, markers.flatMap((m) => m.quarantined_sources ?? []));
  const partitions = partitionCount(markers.reduce((sum, m) => sum + m.records, 0), recordsPerPartition, workers);
  // With workers, a judging pass whose steps can be rebuilt elsewhere runs unit by unit on
  // them (judge-task.ts); each unit's file is a piece of its shard.
  const judgePiece = workers > 1
    ? (request: PieceRequest) => run<PieceResult>({
      kind: 'curate-judge', label: `${markers[request.shard].intermediates[request.piece]} (curation steps)`,
      records: join(workDir, markers[request.shard].intermediates[request.piece]), batchSize: config.batch_size, fates: request.fates, steps: request.steps,
    } as CurateJudgeTask)
    : undefined;
  const observePiece = workers > 1
    ? (request: PieceRequest) => run<unknown>({
      kind: 'curate-observe', label: `${markers[request.shard].intermediates[request.piece]} (quality histograms)`,
      records: join(workDir, markers[request.shard].intermediates[request.piece]), batchSize: config.batch_size, fates: request.fates,
      spec: request.steps[0] as RemoteObserveSpec,
    } as CurateObserveTask)
    : undefined;
  const runner = new StepRunner<ReduceRecord>(
    markers.map((m) => ({ length: m.records + m.problems, batches: () => chunked(records(workDir, m), config.batch_size), pieces: unitRanges(m) })),
    judgePiece,
    observePiece,
  );

  // Every record's id, and its text hash for exact dedup, into key partitions (one task per
  // intermediate file); `order` (a record's position over all shards) keeps input order.
  const dir = join(workDir, 'reduce');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const tasks: KeyScatterTask[] = [];
    let shardOrder = 0;
    for (const [shard, marker] of markers.entries()) {
      for (const { file, first } of unitRanges(marker)) {
        const runs = scatterRuns(dir, tasks.length);
        tasks.push({
          kind: 'key-scatter', label: `${file} (ids and text hashes)`, records: join(workDir, file), shard, first, order: shardOrder + first,
          ids: runs.ids, hashes: config.dedup.exact ? runs.hashes : null, partitions,
        });
      }
      shardOrder += marker.records + marker.problems;
    }
    const scattered = await Promise.all(tasks.map((task) => run<KeyScatter>(task)));
    const idRuns = scattered.map((s) => s.ids);
    const hashRuns = scattered.flatMap((s) => (s.hashes ? [s.hashes] : []));
    const duplicateIds = await findDuplicateIds(config, inputs, idRuns, partitions, run);
    // The runner's fates when exact dedup finishes say what `kept` says (it ends its pass). They
    // go to the partitions' tasks in shared memory: one copy, not one per partition.
    const hashIndex: KeyIndex | null = config.dedup.exact
      ? {
        async decide(_kept, drop) {
          const fates = runner.fates.map((f) => {
            const shared = new Uint8Array(new SharedArrayBuffer(f.length));
            shared.set(f);
            return shared;
          });
          const perPartition = await Promise.all(Array.from({ length: partitions }, (_, partition) => run<Uint32Array>({
            kind: 'exact-decide', label: `exact dedup, partition ${partition + 1} of ${partitions}`, runs: hashRuns, partition,
            fates, bestQuality: config.dedup.keep === 'best-quality',
          } as ExactDecideTask)));
          for (const drops of perPartition) for (let i = 0; i < drops.length; i += 2) drop(drops[i], drops[i + 1]);
        },
      }
      : null;
    const quality = config.filters.quality ? qualityStep<ReduceRecord>(config.filters.quality, sources, backend) : null;
    const steps: (Step<ReduceRecord> | null)[] = [
      duplicateIdStep((shard, index) => duplicateIds.get(shard)?.has(index) ?? false),
      quality,
      config.filters.heuristics ? heuristicsStep() : null,
      config.contamination ? contaminationStep(config.contamination.action) : null,
      hashIndex && exactDedupStep(hashIndex),
      near,
    ];
    await runner.run(steps.filter((step) => step !== null));
    return { sources, fates: runner.fates, duplicateIds, quality: quality?.outcome() ?? null, runner };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The records whose id an earlier record (in input order) already has (work/key-partitions.ts
 * `repeatedLines`, the rule dedup's id check shares), one task per partition: per shard and index in it,
 * the record's input row and its message. With `on_error: "fail"`, throws for the first
 * such record in input order, as a streaming pass would.
 */
async function findDuplicateIds(config: CurateConfig, inputs: ResolvedInput[], runs: PartitionedRun[], partitions: number, run: ReduceTaskRun) {
  const perPartition = await Promise.all(Array.from({ length: partitions }, (_, partition) => run<Repeat<IdLine>[]>({
    kind: 'id-repeats', label: `ids, partition ${partition + 1} of ${partitions}`, runs, partition,
  } as IdRepeatsTask)));
  const duplicateIds = new Map<number, Map<number, DuplicateId>>();
  for (const { repeat: [id, , shard, index, row], first } of inInputOrder(perPartition)) {
    const message = `tokenmix: ${recordLocation(inputs[shard], row)}: field "${config.fields.id}": duplicate id ${JSON.stringify(id)} (first seen at ${recordLocation(inputs[first[2]], first[4])})`;
    if (config.on_error === 'fail') throw new TokenmixError(`${message}; ids must be unique (or set "on_error": "quarantine")`);
    if (!duplicateIds.has(shard)) duplicateIds.set(shard, new Map());
    duplicateIds.get(shard)!.set(index, { row, message });
  }
  return duplicateIds;
}
