/**
 * Work units: the pieces a map phase is cut into, finer than files, so that one big file
 * cannot become a straggler and every core gets work (issue "Use every core"). An uncompressed
 * JSONL file larger than the target splits at line boundaries into byte ranges; a Parquet file
 * splits between row groups; compressed JSONL and Arrow files are one unit each (a gzip or
 * zstd stream cannot be entered in the middle).
 *
 * The plan depends only on the files and the target size, never on the number of workers or
 * tasks, so intermediates and outputs are the same however the work is split. Units are
 * numbered in input order; the units of one input are its parts 0..parts-1.
 */
import { open } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { invariant } from '../errors.js';
import { detectCompression, openInput, unreadable } from '../io/bytes.js';
import type { InputPart, ResolvedInput } from '../io/types.js';

/** Default target size of a unit: large enough that per-unit costs vanish, small enough to balance. */
export const DEFAULT_UNIT_BYTES = 64 * 2 ** 20;

export interface WorkUnit {
  /** Position in the plan (input order, then part order). */
  index: number;
  /** Index of the input file. */
  input: number;
  part: number;
  parts: number;
  /** Bytes on disk this unit covers (estimated for Parquet parts), for balancing and progress. */
  bytes: number;
  /** The stretch of the file; unset for a whole file. JSONL parts get `firstLine` once lines are counted. */
  range?: { kind: 'bytes'; start: number; end: number } | { kind: 'rows'; start: number; end: number };
}

/**
 * Cut `inputs` into units of about `unitBytes`. JSONL split points are moved forward to just
 * after the next newline, so each part holds whole lines.
 */
export async function planUnits(inputs: ResolvedInput[], unitBytes: number = DEFAULT_UNIT_BYTES): Promise<WorkUnit[]> {
  invariant(Number.isSafeInteger(unitBytes) && unitBytes > 0, 'unitBytes must be a positive integer');
  const units: WorkUnit[] = [];
  for (const [index, input] of inputs.entries()) {
    const size = statSync(input.path).size;
    let ranges: WorkUnit['range'][] = [undefined];
    if (size > unitBytes && input.format === 'jsonl' && (await detectCompression(input)) === 'none') {
      ranges = (await lineSplits(input, size, unitBytes)).map(([start, end]) => ({ kind: 'bytes' as const, start, end }));
    } else if (size > unitBytes && input.format === 'parquet') {
      ranges = await rowGroupSplits(input, size, unitBytes);
    }
    if (ranges.length === 1) ranges = [undefined];
    for (const [part, range] of ranges.entries()) {
      const bytes = range === undefined ? size : range.kind === 'bytes' ? range.end - range.start : 0;
      units.push({ index: units.length, input: index, part, parts: ranges.length, bytes, ...(range ? { range } : {}) });
    }
    if (ranges.length > 1 && ranges[0]?.kind === 'rows') {
      const total = ranges.reduce((sum, r) => sum + (r!.end - r!.start), 0);
      for (const unit of units.slice(-ranges.length)) unit.bytes = Math.round((size * (unit.range!.end - unit.range!.start)) / Math.max(total, 1));
    }
  }
  return units;
}

/**
 * [start, end) byte ranges of whole lines, about `unitBytes` each, in an even number of parts
 * when there are several: the plan must not depend on `--workers` (resumes and Slurm reduces plan
 * again), and an even count shares evenly between two or four workers, where three 64 MiB parts
 * of a 162 MB file left one of two workers idle for a third of the map.
 */
async function lineSplits(input: ResolvedInput, size: number, unitBytes: number): Promise<[number, number][]> {
  const needed = Math.ceil(size / unitBytes);
  const parts = needed > 1 && needed % 2 === 1 ? needed + 1 : needed;
  const handle = await open(input.path, 'r').catch((error: unknown) => {
    throw unreadable(input, 'could not be opened', error);
  });
  try {
    const points = [0];
    const window = new Uint8Array(64 * 1024);
    for (let k = 1; k < parts; k++) {
      let at = Math.max(Math.floor((size * k) / parts), points[points.length - 1]);
      // Move forward to just after the next newline (a line longer than the window is scanned on).
      for (;;) {
        const { bytesRead } = await handle.read(window, 0, window.length, at);
        if (bytesRead === 0) {
          at = size;
          break;
        }
        const newline = window.subarray(0, bytesRead).indexOf(0x0a);
        if (newline >= 0) {
          at += newline + 1;
          break;
        }
        at += bytesRead;
      }
      if (at > points[points.length - 1] && at < size) points.push(at);
    }
    points.push(size);
    return points.slice(0, -1).map((start, i) => [start, points[i + 1]]);
  } finally {
    await handle.close();
  }
}

/** Row ranges of consecutive row groups, about `unitBytes` of compressed data each. */
async function rowGroupSplits(input: ResolvedInput, size: number, unitBytes: number): Promise<WorkUnit['range'][]> {
  const { handle } = await openInput(input);
  const [{ parquetMetadataAsync }, { fileHandleBuffer }] = await Promise.all([import('hyparquet'), import('../io/parquet.js')]);
  try {
    let metadata;
    try {
      metadata = await parquetMetadataAsync(fileHandleBuffer(handle, size));
    } catch (error) {
      throw unreadable(input, 'is not a readable Parquet file (truncated, corrupt or another format?)', error);
    }
    const ranges: WorkUnit['range'][] = [];
    let start = 0;
    let rows = 0;
    let bytes = 0;
    for (const group of metadata.row_groups) {
      rows += Number(group.num_rows);
      bytes += Number(group.total_compressed_size ?? group.total_byte_size);
      if (bytes >= unitBytes) {
        ranges.push({ kind: 'rows', start, end: rows });
        start = rows;
        bytes = 0;
      }
    }
    if (rows > start || ranges.length === 0) ranges.push({ kind: 'rows', start, end: rows });
    return ranges;
  } finally {
    await handle.close();
  }
}

/**
 * Which of `tasks` map tasks (ranks) runs each unit: the largest units first, each to the task
 * with the fewest bytes so far (ties: the lower task), so tasks are balanced by bytes and one
 * big file spreads over many tasks. A function of the plan alone: every rank computes the same.
 */
export function assignUnits(units: readonly WorkUnit[], tasks: number): Uint32Array {
  invariant(Number.isSafeInteger(tasks) && tasks >= 1, 'tasks must be a positive integer');
  const owner = new Uint32Array(units.length);
  const load = new Float64Array(tasks);
  const order = [...units].sort((a, b) => b.bytes - a.bytes || a.index - b.index);
  for (const unit of order) {
    let best = 0;
    for (let t = 1; t < tasks; t++) if (load[t] < load[best]) best = t;
    owner[unit.index] = best;
    load[best] += Math.max(1, unit.bytes);
  }
  return owner;
}

/** Newlines in bytes [start, end) of a file: how many lines a JSONL part holds. */
export async function countNewlines(path: string, start: number, end: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 * 2 ** 20);
    let count = 0;
    for (let at = start; at < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at), at);
      if (bytesRead === 0) break;
      for (let i = buffer.indexOf(0x0a, 0); i >= 0 && i < bytesRead; i = buffer.indexOf(0x0a, i + 1)) count++;
      at += bytesRead;
    }
    return count;
  } finally {
    await handle.close();
  }
}

/**
 * The reader's view of a unit: its byte range and first line (JSONL), or its rows (Parquet).
 * `firstLines[u]` is the 1-based line number at which JSONL unit u begins.
 */
export function unitPart(unit: WorkUnit, firstLine: number): InputPart | undefined {
  if (unit.range === undefined) return undefined;
  if (unit.range.kind === 'rows') return { rows: { start: unit.range.start, end: unit.range.end } };
  return { bytes: { start: unit.range.start, end: unit.range.end }, firstLine };
}

/** A short name for messages: `data/a.jsonl (part 3 of 8, bytes 100-200)`. */
export function describeUnit(unit: WorkUnit, displayPath: string): string {
  if (unit.range === undefined) return displayPath;
  const what = unit.range.kind === 'bytes' ? 'bytes' : 'rows';
  return `${displayPath} (part ${unit.part + 1} of ${unit.parts}, ${what} ${unit.range.start}-${unit.range.end - 1})`;
}
