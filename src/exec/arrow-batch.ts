/**
 * Batches that cross threads travel as Apache Arrow record batches (issue 9 item 3): columnar,
 * binary, and moved by transferring their buffers — never per-record copies or structured
 * clones of JS strings.
 *
 * In this engine records themselves never cross threads: each worker reads its own work units
 * (src/exec/units.ts) and writes its own intermediates. What does cross is a map worker's
 * batch of shingle hashes on its way to the thread that owns the GPU (executor.ts's `sign`
 * link): one `list<uint32>` column, one row per document. Arrow's list layout is exactly the
 * kernels' CSR (value offsets + values), so building the batch wraps the two typed arrays
 * without copying, and the receiving thread rebuilds the batch on the transferred buffers with
 * `makeData` (an Arrow object's class does not survive postMessage; its buffers do).
 */
import { Field, List, makeData, RecordBatch, Schema, Struct, Uint32 } from 'apache-arrow';
import { invariant } from '../errors.js';

/** The buffers of a one-column `list<uint32>` record batch, as posted between threads. */
export interface ListBatchMessage {
  column: string;
  rows: number;
  /** Arrow value offsets (int32), rows + 1 of them. */
  offsets: Int32Array;
  values: Uint32Array;
}

function listType(): List<Uint32> {
  return new List(new Field('item', new Uint32(), false));
}

/** A record batch with one `list<uint32>` column over CSR arrays (no copy: shares their memory). */
export function listRecordBatch(column: string, offsets: Uint32Array | Int32Array, values: Uint32Array): RecordBatch {
  const rows = offsets.length - 1;
  invariant(rows >= 0, 'a CSR batch has at least one offset');
  invariant(offsets[rows] === values.length && values.length < 2 ** 31, 'CSR offsets must end at the number of values (< 2^31)');
  const valueOffsets = offsets instanceof Int32Array ? offsets : new Int32Array(offsets.buffer, offsets.byteOffset, offsets.length);
  const type = listType();
  const child = makeData({ type: new Uint32(), length: values.length, nullCount: 0, data: values });
  const list = makeData({ type, length: rows, nullCount: 0, valueOffsets, child });
  const schema = new Schema([new Field(column, type, false)]);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [list] }));
}

/** The CSR arrays under a batch's `list<uint32>` column (views, no copy). */
export function listColumnCsr(batch: RecordBatch, column: string): { offsets: Uint32Array; values: Uint32Array } {
  const index = batch.schema.fields.findIndex((f) => f.name === column);
  invariant(index >= 0, `record batch has no column ${column}`);
  const list = batch.data.children[index];
  const offsets = list.valueOffsets as Int32Array;
  const values = list.children[0].values as Uint32Array;
  // A batch may be a slice of a longer one: its offsets then start past 0.
  return { offsets: new Uint32Array(offsets.buffer, offsets.byteOffset + list.offset * 4, list.length + 1), values };
}

/** What to post for a batch built by listRecordBatch, and the buffers to transfer with it. */
export function listBatchMessage(batch: RecordBatch, column: string): { message: ListBatchMessage; transfer: ArrayBuffer[] } {
  const { offsets, values } = listColumnCsr(batch, column);
  const message: ListBatchMessage = { column, rows: batch.numRows, offsets: new Int32Array(offsets.buffer, offsets.byteOffset, offsets.length), values };
  return { message, transfer: [offsets.buffer as ArrayBuffer, ...(values.buffer === offsets.buffer ? [] : [values.buffer as ArrayBuffer])] };
}

/** The record batch again, on the buffers that came with the message. */
export function messageRecordBatch(message: ListBatchMessage): RecordBatch {
  invariant(message.offsets.length === message.rows + 1, 'batch message offsets do not match its rows');
  return listRecordBatch(message.column, message.offsets, message.values);
}
