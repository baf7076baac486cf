/**
 * Ids must be unique across all inputs of a `dedup` run, as in `curate` (SPEC §1: `id`
 * unique). Checked between the map phase and grouping, over every shard's document table in
 * shard order, with curate's rule (work/key-partitions.ts `repeatedLines`): the first
 * occurrence wins. With `--on-error fail` the earliest repeat stops the run with one line
 * naming both places; with `quarantine` later occurrences are set aside (not kept, not
 * dropped, counted in quarantine.jsonl) by global document index.
 *
 * Memory: ids are grouped out of core, one key partition at a time (~2^20 ids) per thread, plus
 * the repeats found; not one map entry per document of the corpus. Each unit's scatter and each
 * partition's grouping is a task, so with workers the check runs on every core.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenmixError } from '../errors.js';
import type { ResolvedInput } from '../io/types.js';
import { recordLocation } from '../io/resolve.js';
import { inInputOrder, partitionCount, RECORDS_PER_PARTITION, PartitionWriter, type IdRepeatsTask, type PartitionedRun, type Repeat } from '../work/key-partitions.js';
import type { Task } from '../exec/executor.js';
import { blockId, readDocTable } from './doc-table.js';
import { runTaskHere } from '../exec/dispatch.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';

export interface DuplicateIds {
  /** Global document indices (shard order, then local order) of quarantined repeats. */
  excluded: Set<number>;
  /** quarantine.jsonl lines, in document order. */
  lines: string[];
}

/** A partition line: id, global document index, input shard, row. */
type IdEntry = [id: string, doc: number, shard: number, row: number];

/** One unit's ids into a run of key partitions (lines IdEntry), on any thread. */
export interface IdScatterTask extends Task {
  kind: 'id-scatter';
  /** The unit's document table (doc-table.ts). */
  docs: string;
  run: string;
  partitions: number;
  shard: number;
  /** Global index of the unit's first document. */
  base: number;
}

export function runIdScatter(task: IdScatterTask): PartitionedRun {
  const writer = new PartitionWriter(task.run, task.partitions);
  let doc = task.base;
  for (const block of readDocTable(task.docs)) {
    for (let i = 0; i < block.count; i++) {
      const id = blockId(block, i);
      writer.add(id, JSON.stringify([id, doc++, task.shard, block.rows[i]] satisfies IdEntry));
    }
  }
  return writer.close();
}

/**
 * The check, with each unit's scatter and each partition's grouping a task for `run` (the
 * run's workers, or this thread); the repeats are then put in input order here.
 */
export async function findDuplicateIds(
  inputs: ResolvedInput[],
  markers: SignatureMarker[],
  workDir: string,
  onError: 'fail' | 'quarantine',
  idField: string,
  run: <R>(task: Task) => Promise<R> = (task) => runTaskHere(task, { advance: () => {} }) as Promise<never>,
  recordsPerPartition = RECORDS_PER_PARTITION,
  /** Threads `run` spreads tasks over: at least one partition each. */
  workers = 1,
): Promise<DuplicateIds> {
  const dir = join(workDir, 'unique-ids');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const partitions = partitionCount(markers.reduce((sum, m) => sum + m.records, 0), recordsPerPartition, workers);
    let total = 0;
    const bases = markers.map((m) => (total += m.records) - m.records);
    const runs = await Promise.all(markers.map((marker, u) => run<PartitionedRun>({
      kind: 'id-scatter', label: `${marker.file} (ids)`, docs: markerFiles(workDir, marker).docs,
      run: join(dir, `${String(u).padStart(5, '0')}.ids`), partitions, shard: marker.shard, base: bases[u],
    } as IdScatterTask)));
    const repeats = inInputOrder(await Promise.all(Array.from({ length: partitions }, (_, partition) => run<Repeat<IdEntry>[]>({
      kind: 'id-repeats', label: `ids, partition ${partition + 1} of ${partitions}`, runs, partition,
    } as IdRepeatsTask))));
    const excluded = new Set<number>();
    const lines: string[] = [];
    for (const { repeat: [id, doc, shard, row], first } of repeats) {
      const input = inputs[shard];
      const message = `${recordLocation(input, row)}: field "${idField}": duplicate id ${JSON.stringify(id)} (first at ${recordLocation(inputs[first[2]], first[3])})`;
      if (onError === 'fail') throw new TokenmixError(`${message}; ids must be unique (or pass --on-error quarantine to set repeats aside and count them)`);
      excluded.add(doc);
      lines.push(JSON.stringify({ file: input.displayPath, [input.format === 'jsonl' ? 'line' : 'row']: row, field: idField, reason: 'duplicate-id', message }));
    }
    return { excluded, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
