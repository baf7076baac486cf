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
 *
 * Most corpora have no repeated id, so a first pass compares 52-bit hashes of the ids (binary
 * runs, sorted per partition) and only ids whose hash is seen twice go through the string
 * grouping that decides and reports. Equal ids hash equally, so no repeat is missed; ids that
 * merely collide are told apart there. (1M documents: the string grouping of every id took
 * about 2 s of a run on one thread or two.)
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenmixError } from '../errors.js';
import type { ResolvedInput } from '../io/types.js';
import { recordLocation } from '../io/resolve.js';
import { inInputOrder, keyHashAt, partitionCount, RECORDS_PER_PARTITION, PartitionWriter, type IdRepeatsTask, type PartitionedRun, type Repeat } from '../work/key-partitions.js';
import type { Task } from '../exec/executor.js';
import { blockId, readDocTable } from './doc-table.js';
import { runTaskHere } from '../exec/dispatch.js';
import { markerFiles, type SignatureMarker } from './signature-phase.js';
import { readExactly } from './partition.js';

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
  /** Only the ids with one of these hashes (idHash, `bits`), when given. */
  only?: number[];
  bits?: number;
}

export function runIdScatter(task: IdScatterTask): PartitionedRun {
  const writer = new PartitionWriter(task.run, task.partitions);
  const only = task.only ? new Set(task.only) : null;
  let doc = task.base;
  for (const block of readDocTable(task.docs)) {
    for (let i = 0; i < block.count; i++, doc++) {
      if (only && !only.has(idHash(block.ids, i === 0 ? 0 : block.idEnds[i - 1], block.idEnds[i], task.bits))) continue;
      const id = blockId(block, i);
      writer.add(id, JSON.stringify([id, doc, task.shard, block.rows[i]] satisfies IdEntry));
    }
  }
  return writer.close();
}

/** Bits of an id's hash: two ids in 2^26 share one by chance, and then only cost a closer look. */
const ID_HASH_BITS = 52;

/**
 * A hash of the id ids.slice(start, end), below 2^bits (at most 52): the partitions' keyHash of
 * its UTF-16 units with two seeds, one's low 20 bits above the other's 32.
 */
export function idHash(ids: string, start: number, end: number, bits = ID_HASH_BITS): number {
  const full = (keyHashAt(ids, start, end) & 0xfffff) * 2 ** 32 + keyHashAt(ids, start, end, 0x2545f491);
  return bits >= 52 ? full : full % 2 ** bits;
}

/** A unit's id hashes, by partition: per segment, where each partition's hashes start (count + 1 entries, in hashes). */
export interface HashRun {
  path: string;
  segments: number[][];
}

/** Hashes a unit's ids into a run of `partitions` partitions (by the hash), on any thread. */
export interface IdHashesTask extends Task {
  kind: 'id-hashes';
  docs: string;
  run: string;
  partitions: number;
  bits?: number;
}

/** Hashes a writer holds before it sorts them into a segment. */
const HASH_SEGMENT = 1 << 16;

export function runIdHashes(task: IdHashesTask): HashRun {
  const fd = openSync(task.run, 'w');
  const segments: number[][] = [];
  const hashes = new Float64Array(HASH_SEGMENT);
  const sorted = new Float64Array(HASH_SEGMENT);
  let count = 0;
  let position = 0;
  // Counting sort by partition, then one write of the segment.
  const flush = () => {
    if (count === 0) return;
    const starts = new Array<number>(task.partitions + 1).fill(0);
    for (let i = 0; i < count; i++) starts[(hashes[i] % task.partitions) + 1]++;
    for (let p = 0; p < task.partitions; p++) starts[p + 1] += starts[p];
    const next = starts.slice();
    for (let i = 0; i < count; i++) sorted[next[hashes[i] % task.partitions]++] = hashes[i];
    const bytes = new Uint8Array(sorted.buffer, 0, 8 * count);
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, 8 * position + done);
    segments.push(starts.map((start) => position + start));
    position += count;
    count = 0;
  };
  try {
    for (const block of readDocTable(task.docs)) {
      for (let i = 0; i < block.count; i++) {
        hashes[count++] = idHash(block.ids, i === 0 ? 0 : block.idEnds[i - 1], block.idEnds[i], task.bits);
        if (count === HASH_SEGMENT) flush();
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { path: task.run, segments };
}

/** The hashes seen more than once in partition `partition` of every run, on any thread. */
export interface IdCollisionsTask extends Task {
  kind: 'id-collisions';
  runs: HashRun[];
  partition: number;
}

export function runIdCollisions(task: IdCollisionsTask): number[] {
  const p = task.partition;
  const total = task.runs.reduce((sum, run) => sum + run.segments.reduce((n, starts) => n + starts[p + 1] - starts[p], 0), 0);
  const hashes = new Float64Array(total);
  let filled = 0;
  for (const run of task.runs) {
    if (run.segments.length === 0) continue;
    const fd = openSync(run.path, 'r');
    try {
      for (const starts of run.segments) {
        const bytes = new Uint8Array(hashes.buffer, 8 * filled, 8 * (starts[p + 1] - starts[p]));
        readExactly(fd, bytes, 8 * starts[p], () => new TokenmixError(`${run.path}: ends early; the run's intermediate files are damaged: delete the --out directory's work files and run again`));
        filled += starts[p + 1] - starts[p];
      }
    } finally {
      closeSync(fd);
    }
  }
  hashes.sort();
  const repeated: number[] = [];
  for (let i = 1; i < total; i++) if (hashes[i] === hashes[i - 1] && (repeated.length === 0 || repeated[repeated.length - 1] !== hashes[i])) repeated.push(hashes[i]);
  return repeated;
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
  /** Bits of the ids' hashes (fewer in tests, to make distinct ids collide). */
  hashBits = ID_HASH_BITS,
): Promise<DuplicateIds> {
  const dir = join(workDir, 'unique-ids');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    let total = 0;
    const bases = markers.map((m) => (total += m.records) - m.records);
    const runName = (u: number, kind: string) => join(dir, `${String(u).padStart(5, '0')}.${kind}`);
    // Hashes first: only ids whose hash repeats are grouped as strings.
    const hashPartitions = partitionCount(total, recordsPerPartition, workers);
    const hashRuns = await Promise.all(markers.map((marker, u) => run<HashRun>({
      kind: 'id-hashes', label: `${marker.file} (id hashes)`, docs: markerFiles(workDir, marker).docs, run: runName(u, 'hashes'), partitions: hashPartitions, bits: hashBits,
    } as IdHashesTask)));
    const only = (await Promise.all(Array.from({ length: hashPartitions }, (_, partition) => run<number[]>({
      kind: 'id-collisions', label: `id hashes, partition ${partition + 1} of ${hashPartitions}`, runs: hashRuns, partition,
    } as IdCollisionsTask)))).flat();
    if (only.length === 0) return { excluded: new Set(), lines: [] };
    const partitions = partitionCount(2 * only.length, recordsPerPartition, workers);
    const runs = await Promise.all(markers.map((marker, u) => run<PartitionedRun>({
      kind: 'id-scatter', label: `${marker.file} (ids)`, docs: markerFiles(workDir, marker).docs,
      run: runName(u, 'ids'), partitions, shard: marker.shard, base: bases[u], only, bits: hashBits,
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
