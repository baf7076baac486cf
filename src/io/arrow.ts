/**
 * Arrow IPC reader (file format `.arrow`/`.feather` v2 and stream format `.arrows`/`.ipc`).
 * `RecordBatchReader.from` is given a `FileHandle`, not a read stream: for the file format
 * apache-arrow then reads record batches by their footer offsets, whereas from a stream it
 * would buffer the whole file first. Memory is bounded by one Arrow record batch.
 */
import { RecordBatchReader, Type, type Data, type RecordBatch as ArrowBatch, type Vector } from 'apache-arrow';
import { InputCorruptError, TokenmixError } from '../errors.js';
import { BatchBuilder, type BatchOptions } from './batch.js';
import { corruptFile, openInput } from './bytes.js';
import { locateColumns, type ColumnRef } from './columns.js';
import { INVALID_UTF8, MISSING } from './fields.js';
import type { FieldMap, RecordBatch, ResolvedInput } from './types.js';

export type ArrowOptions = BatchOptions;

type Getter = (row: number) => unknown;

export async function* readArrow(input: ResolvedInput, fields: FieldMap, options: ArrowOptions): AsyncGenerator<RecordBatch> {
  const { handle, size } = await openInput(input);
  try {
    let reader;
    try {
      reader = await RecordBatchReader.from(handle);
      await reader.open();
    } catch (error) {
      throw corruptFile(input, 'is not a readable Arrow IPC file (truncated, corrupt or another format?)', error);
    }
    if (reader.schema === undefined || reader.schema === null) {
      throw new TokenmixError(`${input.displayPath} is not a readable Arrow IPC file: no schema found (empty or not Arrow?)`, { where: input.displayPath });
    }
    const refs = locateColumns(input, fields, reader.schema.fields.map((field) => field.name));
    const builder = BatchBuilder.forInput(input, fields, options);
    const batches = reader[Symbol.asyncIterator]();
    let rowBase = 0;
    let bytesDone = 0;
    for (;;) {
      let next: IteratorResult<ArrowBatch>;
      try {
        next = await batches.next();
      } catch (error) {
        throw corruptFile(input, `could not be decoded (after row ${rowBase})`, error);
      }
      if (next.done) break;
      const batch = next.value;
      const getter = (ref: ColumnRef | undefined): Getter => (ref === undefined ? () => MISSING : columnGetter(input, batch, ref));
      const id = getter(refs.id);
      const source = getter(refs.source);
      const text = getter(refs.text);
      const quality = refs.quality.map(getter);
      // Progress estimate: IPC bodies are the batches' buffers (exact when uncompressed).
      bytesDone = Math.min(size, bytesDone + batch.data.byteLength);
      for (let i = 0; i < batch.numRows; i++) {
        builder.addRecord(rowBase + i, id(i), source(i), text(i), quality.map((get) => get(i)));
        if (builder.full) yield builder.take(bytesDone)!;
      }
      rowBase += batch.numRows;
    }
    const last = builder.take(size);
    if (last !== undefined) yield last;
  } finally {
    await handle.close();
  }
}

/** Reads one field of `batch` row by row, walking struct children for dotted names. */
function columnGetter(input: ResolvedInput, batch: ArrowBatch, ref: ColumnRef): Getter {
  let vector: Vector | null = batch.getChild(ref.column);
  for (const key of ref.rest) {
    vector = vector !== null && vector.type.typeId === Type.Struct ? vector.getChild(key) : null;
    if (vector === null) {
      throw new TokenmixError(`${input.displayPath} has no field "${ref.name}" (column "${ref.column}" has no child "${key}"); set the field name in the config`, { where: input.displayPath });
    }
  }
  if (vector === null) throw new TokenmixError(`${input.displayPath} has no column "${ref.column}"`, { where: input.displayPath });
  const typeId = vector.type.typeId;
  if ((typeId === Type.Utf8 || typeId === Type.LargeUtf8) && vector.data.length === 1) return strictUtf8(input, ref.name, vector.data[0]);
  const column = vector;
  return (row) => {
    const value = column.get(row);
    return value === undefined ? null : value;
  };
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Utf8 values decoded strictly (apache-arrow's own `get` replaces bad bytes with U+FFFD).
 * Offsets are checked too: a damaged offset buffer would otherwise yield silently cut text.
 */
function strictUtf8(input: ResolvedInput, name: string, data: Data): Getter {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const values = data.values as Uint8Array;
  return (row) => {
    if (!data.getValid(row)) return null;
    const start = Number(offsets[row]);
    const end = Number(offsets[row + 1]);
    if (!(start >= 0 && start <= end && end <= values.length)) {
      throw new InputCorruptError(`${input.displayPath} is not a consistent Arrow IPC file: column "${name}" has offsets ${start}..${end} outside its ${values.length} value bytes (corrupt)`, input.displayPath);
    }
    const bytes = values.subarray(start, end);
    try {
      return strictDecoder.decode(bytes);
    } catch {
      return INVALID_UTF8;
    }
  };
}
