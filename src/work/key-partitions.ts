/**
 * Out-of-core grouping by key (curate's reduce, dedup's unique-id check): whoever reads a
 * stretch of input (a work unit, a shard) writes its lines to one run file, grouped by a hash
 * partition of their key; partition p of the whole corpus is then the p-th range of every run,
 * read in input order, and is grouped on its own — by any thread, in any order. Memory holds
 * one partition's keys at a time (about RECORDS_PER_PARTITION of them), not every key of the
 * corpus: keeping every id and text hash in memory used to cost ~440 bytes a record (44 GB at
 * 100 M records).
 *
 * A run is a sequence of segments, each one writer buffer's lines counting-sorted by partition
 * (stable), so a writer's memory is bounded too. Within a partition, lines keep the order they
 * were added in, and runs are read in the order given: "the first occurrence wins" needs that.
 * Lines are JSON arrays `[key, order, ...]` where `order` is the line's position in input order
 * over the whole corpus (see `repeatedLines`).
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { Task } from '../exec/executor.js';
import { fmix32, murmur3Round } from '../text/hash.js';

/** Records per partition aimed at: ~100–200 MB of Map entries when one is grouped. */
export const RECORDS_PER_PARTITION = 1 << 20;
/** Bytes of memory a key of a partition being grouped costs (Map entry, key string, parsed line). */
export const BYTES_PER_GROUPED_KEY = 256;
/** Run segment offsets are kept per partition: past this, partitions grow instead. */
const MAX_PARTITIONS = 1024;
/** Lines a writer buffers before it sorts them into a segment. */
const SEGMENT_LINES = 1 << 16;

/**
 * Partitions for `records` keys: enough that one holds at most `perPartition`, and at least
 * `atLeast` (the workers that group them in parallel). Results never depend on the count.
 */
export function partitionCount(records: number, perPartition = RECORDS_PER_PARTITION, atLeast = 1): number {
  return Math.min(MAX_PARTITIONS, Math.max(1, atLeast, Math.ceil(records / perPartition)));
}

/** Keys per partition that fit a heap of `heapMb` MiB with half of it to spare. */
export function recordsPerPartitionFor(heapMb: number | undefined): number {
  if (heapMb === undefined) return RECORDS_PER_PARTITION;
  return Math.max(1024, Math.min(RECORDS_PER_PARTITION, Math.floor((heapMb * 2 ** 20) / 2 / BYTES_PER_GROUPED_KEY)));
}

/** A well-mixed u32 of a string key (its UTF-16 units), for choosing a partition. */
export function keyHash(key: string): number {
  return keyHashAt(key, 0, key.length);
}

/** keyHash of text.slice(start, end), without the slice; another `seed` gives another hash. */
export function keyHashAt(text: string, start: number, end: number, seed = 0x9747b28c): number {
  let h = seed;
  for (let i = start; i < end; i++) h = murmur3Round(h, text.charCodeAt(i));
  return fmix32(h ^ (end - start));
}

/** A run file: per segment, the byte offset where each partition's lines start (count + 1 entries). */
export interface PartitionedRun {
  path: string;
  segments: number[][];
}

/** Writes one run: lines sorted into partitions segment by segment (synchronous writes). */
export class PartitionWriter {
  private readonly fd: number;
  private lines: string[] = [];
  private parts: number[] = [];
  private position = 0;
  private readonly segments: number[][] = [];

  constructor(private readonly path: string, private readonly count: number, private readonly segmentLines = SEGMENT_LINES) {
    this.fd = openSync(path, 'w');
  }

  /** Append `line` (a JSON array `[key, order, ...]`, no newline) to the partition of `key`. */
  add(key: string, line: string): void {
    this.lines.push(line);
    this.parts.push(keyHash(key) % this.count);
    if (this.lines.length >= this.segmentLines) this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    const byPartition: string[][] = Array.from({ length: this.count }, () => []);
    for (let i = 0; i < this.lines.length; i++) byPartition[this.parts[i]].push(this.lines[i], '\n');
    const offsets = [this.position];
    for (const lines of byPartition) {
      const bytes = Buffer.from(lines.join(''));
      writeSync(this.fd, bytes);
      this.position += bytes.length;
      offsets.push(this.position);
    }
    this.segments.push(offsets);
    this.lines = [];
    this.parts = [];
  }

  close(): PartitionedRun {
    this.flush();
    closeSync(this.fd);
    return { path: this.path, segments: this.segments };
  }
}

/** Partition `p` of the runs, in run order and, within a run, in the order lines were added. */
export function* partitionLines(runs: PartitionedRun[], p: number): Generator<string> {
  for (const run of runs) {
    if (run.segments.length === 0) continue;
    const fd = openSync(run.path, 'r');
    try {
      for (const offsets of run.segments) {
        const length = offsets[p + 1] - offsets[p];
        if (length === 0) continue;
        const bytes = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) done += readSync(fd, bytes, done, length - done, offsets[p] + done);
        const text = bytes.toString('utf8');
        let start = 0;
        for (let end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) yield text.slice(start, end);
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** partitionLines, each line parsed (the JSON arrays `[key, order, ...]` the writers add). */
export function* partitionEntries<T>(runs: PartitionedRun[], p: number): Generator<T> {
  for (const line of partitionLines(runs, p)) yield JSON.parse(line) as T;
}

/** A repeated key: the parsed lines `[key, order, ...]` of a later occurrence and of the first. */
export interface Repeat<T extends unknown[]> {
  repeat: T;
  first: T;
}

/** All partitions' repeats in input order (by `order`): the first one is what `on_error: fail` reports. */
export function inInputOrder<T extends [string, number, ...unknown[]]>(perPartition: Repeat<T>[][]): Repeat<T>[] {
  return perPartition.flat().sort((a, b) => a.repeat[1] - b.repeat[1]);
}

/** One partition of every run: its repeated keys (repeatedLines), on any thread (curate's and dedup's id checks). */
export interface IdRepeatsTask extends Task {
  kind: 'id-repeats';
  runs: PartitionedRun[];
  partition: number;
}

export function runIdRepeats<T extends [string, number, ...unknown[]]>(task: IdRepeatsTask): Repeat<T>[] {
  return repeatedLines<T>(partitionLines(task.runs, task.partition));
}

/**
 * The one rule for unique keys (curate's and dedup's duplicate ids): the first occurrence in
 * input order wins and every later one is a repeat of it. `lines` are one partition's lines
 * `[key, order, ...]`, in input order; the repeats come back in input order. A line's key is
 * compared as it is written (the JSON string literal that opens the array; JSON.stringify
 * writes equal strings equally), and only repeats and their first occurrences are parsed:
 * parsing every line made most of an id check's time and garbage (1M records: ~0.9 s a worker).
 */
export function repeatedLines<T extends [string, number, ...unknown[]]>(lines: Iterable<string>): Repeat<T>[] {
  const first = new Map<string, string>();
  const repeats: Repeat<T>[] = [];
  for (const line of lines) {
    const key = keyLiteral(line);
    const seen = first.get(key);
    if (seen === undefined) first.set(key, line);
    else repeats.push({ repeat: JSON.parse(line) as T, first: JSON.parse(seen) as T });
  }
  return repeats;
}

/** The JSON string literal at the start of a line `["key", …]`. */
function keyLiteral(line: string): string {
  if (line.charCodeAt(0) !== 0x5b || line.charCodeAt(1) !== 0x22) throw new Error(`a key partition line does not start with a string key: ${line.slice(0, 80)}`);
  for (let i = 2; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x5c) i++; // an escape: skip the escaped character
    else if (c === 0x22) return line.slice(1, i + 1);
  }
  throw new Error(`a key partition line has an unterminated key: ${line.slice(0, 80)}`);
}
