/**
 * Parquet reader over hyparquet. Memory stays bounded by reading one stretch of rows at a
 * time through `parquetScan`: a column chunk with an offset index is read `batchSize` rows at
 * a time (only the pages covering them), one without (single-page chunks, or files written
 * without page indexes) once per row group. The file is read through one
 * `FileHandle` with positional reads. Strings are decoded strictly, so invalid UTF-8 becomes
 * a located problem instead of silent U+FFFD.
 */
import type { FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetScan, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { invariant, TokenmixError } from '../errors.js';
import { BatchBuilder, type BatchOptions } from './batch.js';
import { corruptFile, openInput } from './bytes.js';
import { locateColumns, type ColumnRef, valueAt } from './columns.js';
import { MISSING, strictString } from './fields.js';
import type { FieldMap, RecordBatch, ResolvedInput } from './types.js';

export interface ParquetOptions extends BatchOptions {
  /** Only these rows (a work unit: whole row groups); all rows when unset. */
  rows?: { start: number; end: number };
}

export async function* readParquet(input: ResolvedInput, fields: FieldMap, options: ParquetOptions): AsyncGenerator<RecordBatch> {
  const { handle, size } = await openInput(input);
  try {
    const file = fileHandleBuffer(handle, size);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw corruptFile(input, 'is not a readable Parquet file (truncated, corrupt or another format?)', error);
    }
    const topLevel = parquetSchema(metadata).children.map((child) => child.element.name);
    const refs = locateColumns(input, fields, topLevel);
    const columns = [...new Set(refs.all.map((ref) => ref.column))];
    const builder = BatchBuilder.forInput(input, fields, options);

    const scan = await parquetScan({ file, metadata, columns, compressors, parsers: { stringFromBytes: strictString } })
      .catch((error: unknown) => { throw corruptFile(input, 'is not a readable Parquet file', error); });
    const groupStarts = rowGroupStarts(metadata);
    // Progress in bytes, estimated from rows done: index and footer reads come first and
    // out of order, so the furthest byte fetched would jump ahead.
    // A part reports the bytes of its own rows (so that parts add up to the file).
    const totalRows = Number(metadata.num_rows);
    const first = options.rows?.start ?? 0;
    const last = options.rows?.end ?? totalRows;
    const progress = (rowsDone: number) => (totalRows > 0 ? Math.round((size * (rowsDone - first)) / totalRows) : size);
    for (const range of scan.ranges) {
      if (range.rowStart < first || range.rowStart >= last) continue;
      invariant(range.rowEnd <= last, `${input.displayPath}: a part must cover whole row groups`);
      const group = groupStarts.findIndex((start, g) => range.rowStart >= start && range.rowStart < start + Number(metadata.row_groups[g].num_rows));
      const indexed = indexedColumns(metadata, group, columns);
      // Columns with an offset index are read `batchSize` rows at a time (only the pages
      // covering them); the others once per row group, then sliced.
      const step = indexed.size > 0 ? options.batchSize : range.rowEnd - range.rowStart;
      const wholeGroup = new Map<string, Promise<ArrayLike<unknown>>>();
      const read = (column: string, rowStart: number, rowEnd: number): Promise<Slice> => {
        if (indexed.has(column)) return scan.readColumn({ column, rowStart, rowEnd }).then((values) => ({ values, offset: 0 }));
        let whole = wholeGroup.get(column);
        if (whole === undefined) {
          whole = scan.readColumn({ column, rowStart: range.rowStart, rowEnd: range.rowEnd });
          wholeGroup.set(column, whole);
        }
        return whole.then((values) => ({ values, offset: rowStart - range.rowStart }));
      };
      for (let rowStart = range.rowStart; rowStart < range.rowEnd; rowStart += step) {
        const rowEnd = Math.min(rowStart + step, range.rowEnd);
        const data = new Map<string, Slice>();
        try {
          const slices = await Promise.all(columns.map((column) => read(column, rowStart, rowEnd)));
          columns.forEach((column, c) => data.set(column, slices[c]));
        } catch (error) {
          throw corruptFile(input, `could not be decoded (rows ${rowStart}-${rowEnd - 1}, row group ${group})`, error);
        }
        const get = (ref: ColumnRef | undefined, i: number) => {
          if (ref === undefined) return MISSING;
          const slice = data.get(ref.column)!;
          return valueAt(slice.values, slice.offset + i, ref);
        };
        for (let i = 0; i < rowEnd - rowStart; i++) {
          builder.addRecord(rowStart + i, get(refs.id, i), get(refs.source, i), get(refs.text, i), refs.quality.map((ref) => get(ref, i)));
          if (builder.full) yield builder.take(progress(rowStart + i + 1))!;
        }
      }
    }
    const rest = builder.take(progress(last));
    if (rest !== undefined) yield rest;
  } finally {
    await handle.close();
  }
}

/** An `AsyncBuffer` reading byte ranges from an open file with positional reads. */
export function fileHandleBuffer(handle: FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const from = start < 0 ? Math.max(byteLength + start, 0) : Math.min(start, byteLength);
      const to = end === undefined ? byteLength : end < 0 ? Math.max(byteLength + end, 0) : Math.min(end, byteLength);
      const bytes = new Uint8Array(Math.max(to - from, 0));
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, from + filled);
        if (bytesRead === 0) throw new TokenmixError(`file ended at byte ${from + filled}, expected ${byteLength} bytes (did it change while reading?)`);
        filled += bytesRead;
      }
      return bytes.buffer;
    },
  };
}


function rowGroupStarts(metadata: FileMetaData): number[] {
  const starts: number[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    starts.push(start);
    start += Number(group.num_rows);
  }
  return starts;
}

/** Rows `offset..` of a decoded column are the rows being assembled. */
interface Slice {
  values: ArrayLike<unknown>;
  offset: number;
}

/** Needed columns whose chunk in row group `group` has an offset index (all its leaves, for structs). */
function indexedColumns(metadata: FileMetaData, group: number, columns: readonly string[]): Set<string> {
  const rowGroup = metadata.row_groups[group];
  const indexed = new Set<string>();
  if (rowGroup === undefined) return indexed;
  for (const column of columns) {
    const chunks = rowGroup.columns.filter((chunk) => chunk.meta_data?.path_in_schema[0] === column);
    if (chunks.length > 0 && chunks.every((chunk) => chunk.offset_index_offset !== undefined)) indexed.add(column);
  }
  return indexed;
}
