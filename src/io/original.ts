/**
 * The original records of an input file, whole, in input order (SPEC §6: the curated data
 * keeps every original column). The validating readers (`readRecords`) extract only the
 * configured fields; the data writers need everything else too:
 *  - JSONL: the line's own text (so a record is written back byte for byte, big integers,
 *    key order and all), positioned by its 1-based line number exactly as `readJsonl`
 *    numbers lines;
 *  - Parquet: every column of each row as hyparquet decodes it (nested structs and lists as
 *    objects and arrays), positioned by 0-based row;
 *  - Arrow IPC: every column of each row as plain values (structs as objects, lists as arrays).
 * Memory is bounded by one read chunk (JSONL), one stretch of rows (Parquet) or one record batch (Arrow).
 */
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData, type ParquetParsers } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { RecordBatchReader, Vector, type Schema } from 'apache-arrow';
import { openByteSource, openInput, unreadable } from './bytes.js';
import { LineSplitter } from './lines.js';
import { fileHandleBuffer } from './parquet.js';
import { DEFAULT_CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES, type ResolvedInput } from './types.js';

export type OriginalRecord =
  /** JSONL: the line without its newline (and without a BOM on line 1). */
  | { row: number; line: string; value?: undefined }
  /** Parquet and Arrow: top-level column name → value. */
  | { row: number; value: Record<string, unknown>; line?: undefined };

export interface OriginalOptions {
  /** Rows per Parquet read. */
  batchSize: number;
  /** Parquet value decoding, merged over hyparquet's defaults (e.g. timestamps kept as raw integers). */
  parsers?: Partial<ParquetParsers>;
  /** Decode Parquet BYTE_ARRAY columns without a string annotation as strings (hyparquet's default, true). */
  utf8?: boolean;
}

export function readOriginals(input: ResolvedInput, options: OriginalOptions): AsyncGenerator<OriginalRecord> {
  switch (input.format) {
    case 'jsonl':
      return jsonlLines(input);
    case 'parquet':
      return parquetRows(input, options);
    case 'arrow':
      return arrowRows(input);
  }
}

async function* jsonlLines(input: ResolvedInput): AsyncGenerator<OriginalRecord> {
  const source = await openByteSource(input, DEFAULT_CHUNK_BYTES);
  const splitter = new LineSplitter(DEFAULT_MAX_LINE_BYTES);
  let row = 0;
  const take = function* (lines: ReturnType<LineSplitter['push']>): Generator<OriginalRecord> {
    for (const line of lines) {
      row++;
      // Bad lines (invalid UTF-8, too long) are quarantined, never written: only their number counts.
      if (typeof line !== 'string') continue;
      yield { row, line: row === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line };
    }
  };
  for await (const chunk of source.chunks) yield* take(splitter.push(chunk));
  yield* take(splitter.end());
}

/** A Parquet file's metadata, for its schema (a data file written from it keeps that schema). */
export async function parquetFileMetadata(input: ResolvedInput): Promise<FileMetaData> {
  const { handle, size } = await openInput(input);
  try {
    return await parquetMetadataAsync(fileHandleBuffer(handle, size));
  } catch (error) {
    throw unreadable(input, 'is not a readable Parquet file (truncated, corrupt or another format?)', error);
  } finally {
    await handle.close();
  }
}

async function* parquetRows(input: ResolvedInput, options: OriginalOptions): AsyncGenerator<OriginalRecord> {
  const { handle, size } = await openInput(input);
  try {
    const file = fileHandleBuffer(handle, size);
    const metadata = await parquetMetadataAsync(file).catch((error: unknown) => {
      throw unreadable(input, 'is not a readable Parquet file (truncated, corrupt or another format?)', error);
    });
    // Every column, in schema order, null when hyparquet leaves a null group out.
    const names = parquetSchema(metadata).children.map((child) => child.element.name);
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      // Without offset indexes every read decodes the whole row group: then read it once.
      const indexed = group.columns.every((chunk) => chunk.offset_index_offset !== undefined);
      const step = indexed ? options.batchSize : Math.max(groupRows, 1);
      for (let rowStart = groupStart; rowStart < groupStart + groupRows; rowStart += step) {
        const rowEnd = Math.min(rowStart + step, groupStart + groupRows);
        let rows: Record<string, unknown>[];
        try {
          rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors, utf8: options.utf8 ?? true, ...(options.parsers ? { parsers: options.parsers } : {}) });
        } catch (error) {
          throw unreadable(input, `could not be decoded (rows ${rowStart}-${rowEnd - 1})`, error);
        }
        for (let i = 0; i < rows.length; i++) {
          const value: Record<string, unknown> = {};
          for (const name of names) value[name] = rows[i][name] ?? null;
          yield { row: rowStart + i, value };
        }
      }
      groupStart += groupRows;
    }
  } finally {
    await handle.close();
  }
}

/** An Arrow IPC file's schema (a Parquet file written from it takes its column types from it). */
export async function arrowFileSchema(input: ResolvedInput): Promise<Schema> {
  const { handle } = await openInput(input);
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    return reader.schema;
  } catch (error) {
    throw unreadable(input, 'is not a readable Arrow IPC file (truncated, corrupt or another format?)', error);
  } finally {
    await handle.close();
  }
}

async function* arrowRows(input: ResolvedInput): AsyncGenerator<OriginalRecord> {
  const { handle } = await openInput(input);
  try {
    const reader = await RecordBatchReader.from(handle).catch((error: unknown) => {
      throw unreadable(input, 'is not a readable Arrow IPC file (truncated, corrupt or another format?)', error);
    });
    await reader.open();
    let row = 0;
    for await (const batch of reader) {
      const names = batch.schema.fields.map((field) => field.name);
      const columns = names.map((name) => batch.getChild(name));
      for (let i = 0; i < batch.numRows; i++) {
        const value: Record<string, unknown> = {};
        names.forEach((name, c) => (value[name] = plainValue(columns[c]?.get(i) ?? null)));
        yield { row: row++, value };
      }
    }
  } finally {
    await handle.close();
  }
}

/** apache-arrow's row proxies (StructRow, MapRow, Vector) as plain objects and arrays. */
export function plainValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || value instanceof Uint8Array || value instanceof Date) return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, plainValue);
  if (Array.isArray(value)) return value.map(plainValue);
  if (value instanceof Vector) return Array.from(value as Iterable<unknown>, plainValue);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    // StructRow / MapRow (both also iterate and have toArray, so they are told apart from lists here)
    const json = (value as { toJSON(): Record<string, unknown> }).toJSON();
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}
