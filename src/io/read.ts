/**
 * `readRecords`: one entry point for every input format. Readers never throw for a bad
 * record (it becomes a `BadRecord` in the batch, SPEC §7); they throw a `TokenmixError`
 * naming the file only when the file itself cannot be read.
 */
import { invariant, TokenmixError } from '../errors.js';
import { readJsonl } from './jsonl.js';
import {
  DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES,
  type FieldMap, type ReadOptions, type RecordBatch, type ResolvedInput,
} from './types.js';

export function readRecords(input: ResolvedInput, fields: FieldMap, options: ReadOptions = {}): AsyncIterable<RecordBatch> {
  const batchSize = positiveInteger(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
  const allowNumericIds = options.allowNumericIds ?? false;
  checkFields(fields);
  switch (input.format) {
    case 'jsonl':
      return readJsonl(input, fields, {
        batchSize,
        allowNumericIds,
        maxLineBytes: positiveInteger(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, 'maxLineBytes'),
        chunkBytes: positiveInteger(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, 'chunkBytes'),
        ...(options.part && 'bytes' in options.part ? { part: options.part } : {}),
        ...(options.shortcut ? { shortcut: options.shortcut } : {}),
      });
    case 'parquet':
      return loaded(() => import('./parquet.js'), (m) => m.readParquet(input, fields, { batchSize, allowNumericIds, ...(options.part && 'rows' in options.part ? { rows: options.part.rows } : {}) }));
    case 'arrow':
      invariant(options.part === undefined, 'Arrow inputs are read whole');
      return loaded(() => import('./arrow.js'), (m) => m.readArrow(input, fields, { batchSize, allowNumericIds }));
  }
}

/**
 * The Parquet and Arrow libraries take most of a worker thread's start-up (~0.6 s): they are
 * loaded when a file of theirs is first read, not when tokenmix starts.
 */
async function* loaded<M>(load: () => Promise<M>, read: (module: M) => AsyncIterable<RecordBatch>): AsyncGenerator<RecordBatch> {
  yield* read(await load());
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || (name === 'batchSize' && value > 0xffffffff)) {
    throw new TokenmixError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function checkFields(fields: FieldMap): void {
  const named = (value: unknown) => typeof value === 'string' && value.length > 0;
  if (!named(fields.id)) throw new TokenmixError('fields.id must name the id field, e.g. "id"');
  if (!named(fields.text)) throw new TokenmixError('fields.text must name the text field, e.g. "text"');
  if (fields.source !== undefined && !named(fields.source)) throw new TokenmixError('fields.source must be a non-empty field name when set');
  for (const name of fields.quality ?? []) {
    if (!named(name)) throw new TokenmixError('fields.quality must list non-empty field names');
  }
}
