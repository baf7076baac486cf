/**
 * The reduce's keys, gathered before its steps run (src/pipeline/reduce.ts): one task per
 * intermediate file (a map unit's records) writes every record's id, and with exact dedup its
 * text hash, into runs of key partitions (work/key-partitions.ts), on the run's workers. The
 * duplicate-id step then judges from the repeats found per partition, and the exact-dedup step
 * decides per partition (a task each) over the records still kept, so neither adds or groups a
 * key per record on the main thread and the reduce reads its intermediates once less.
 */
import { join } from 'node:path';
import type { Task } from '../exec/executor.js';
import { jsonLines } from '../work/json-lines.js';
import { partitionEntries, PartitionWriter, type PartitionedRun } from '../work/key-partitions.js';
import { replacesWinner } from '../steps/curation.js';
import { KEPT } from '../steps/stages.js';
import type { ShardRecord } from './shard.js';

/** A line of the id partitions: id, order (position over all shards), shard, index in the shard, input row. */
export type IdLine = [id: string, order: number, shard: number, index: number, row: number];
/** A line of the text-hash partitions: hash, order, score, id, shard, index in the shard. */
export type HashLine = [hash: string, order: number, score: number | null, id: string, shard: number, index: number];

export interface KeyScatterTask extends Task {
  kind: 'key-scatter';
  /** The intermediate file. */
  records: string;
  shard: number;
  /** Index in its shard, and order over all shards, of the file's first line. */
  first: number;
  order: number;
  /** Run files to write, and their partition count. */
  ids: string;
  hashes: string | null;
  partitions: number;
}

export interface KeyScatter {
  ids: PartitionedRun;
  hashes: PartitionedRun | null;
}

export function runKeyScatter(task: KeyScatterTask): KeyScatter {
  const ids = new PartitionWriter(task.ids, task.partitions);
  const hashes = task.hashes === null ? null : new PartitionWriter(task.hashes, task.partitions);
  let local = 0;
  for (const record of jsonLines<ShardRecord>(task.records)) {
    if (record.id !== undefined) {
      const index = task.first + local;
      const order = task.order + local;
      ids.add(record.id, JSON.stringify([record.id, order, task.shard, index, record.row] satisfies IdLine));
      hashes?.add(record.hash, JSON.stringify([record.hash, order, record.score, record.id, task.shard, index] satisfies HashLine));
    }
    local++;
  }
  return { ids: ids.close(), hashes: hashes?.close() ?? null };
}

/** Run files of the unit `unit` in `dir`. */
export function scatterRuns(dir: string, unit: number): { ids: string; hashes: string } {
  const name = String(unit).padStart(5, '0');
  return { ids: join(dir, `${name}.ids`), hashes: join(dir, `${name}.hashes`) };
}

/** Exact dedup in one hash partition, among the records still kept (fates KEPT), on any thread. */
export interface ExactDecideTask extends Task {
  kind: 'exact-decide';
  runs: PartitionedRun[];
  partition: number;
  /** Per shard, each record's fate when the exact-dedup step finishes. */
  fates: Uint8Array[];
  bestQuality: boolean;
}

/**
 * The partition's lines in input order, by the rule of `replacesWinner` (src/steps/curation.ts):
 * every record that is not its text's winner, as (shard, index) pairs in the order they lose.
 */
export function runExactDecide(task: ExactDecideTask): Uint32Array {
  const drops: number[] = [];
  const winners = new Map<string, { score: number | null; id: string; shard: number; index: number }>();
  for (const [hash, , score, id, shard, index] of partitionEntries<HashLine>(task.runs, task.partition)) {
    if (task.fates[shard][index] !== KEPT) continue;
    const winner = winners.get(hash);
    if (!winner) {
      winners.set(hash, { score, id, shard, index });
    } else if (replacesWinner(task.bestQuality, { score, id }, winner)) {
      drops.push(winner.shard, winner.index);
      winners.set(hash, { score, id, shard, index });
    } else {
      drops.push(shard, index);
    }
  }
  return Uint32Array.from(drops);
}
