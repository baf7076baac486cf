/**
 * Reading a file the user dropped on the page (SPEC §7: "on files the user drops in"): the
 * bytes are already in memory, nothing leaves the browser. JSONL (plain, gzip, zstd — sniffed
 * from the magic bytes like the Node reader) and Parquet (hyparquet). Every record goes through
 * the Node readers' own validation (`BatchBuilder`: same checks, same problem messages), field
 * lookup (`getField`, `locateColumns`) and line splitting (`LineSplitter`).
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ZstdDataError, zstdDecompressChecked } from '../io/zstd.js';
import { TokenmixError } from '../errors.js';
import { BatchBuilder, WHOLE_LINE } from '../io/batch.js';
import { locateColumns, valueAt } from '../io/columns.js';
import { fieldPath, getField, MISSING, strictString } from '../io/fields.js';
import type { BadRecord, FieldMap, RecordBatch } from '../io/types.js';
import type { ExploreRecord } from './corpus.js';
import { dict } from '../dict.js';

export type DroppedFormat = 'jsonl' | 'parquet';

export interface DroppedFile {
  name: string;
  format: DroppedFormat;
  /** Decompressed bytes (JSONL) or the Parquet file. */
  bytes: Uint8Array;
}

export interface FieldChoices {
  /** Field names found in the file (dotted for one level of nesting), in file order. */
  fields: string[];
  /** Fields whose sampled values are all numbers (quality score candidates). */
  numeric: string[];
}

export interface ReadOutcome {
  records: ExploreRecord[];
  problems: BadRecord[];
  blankLines: number;
}

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"
const SAMPLE_RECORDS = 200;

/** Recognize and decompress a dropped file. */
export async function openDroppedFile(name: string, raw: Uint8Array): Promise<DroppedFile> {
  const starts = (magic: number[]) => magic.every((byte, i) => raw[i] === byte);
  if (starts(PARQUET_MAGIC) || /\.parquet$/i.test(name)) return { name, format: 'parquet', bytes: raw };
  if (starts([0x1f, 0x8b])) return { name, format: 'jsonl', bytes: await gunzip(raw, name) };
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) {
    try {
      return { name, format: 'jsonl', bytes: await zstdDecompressChecked(raw) };
    } catch (error) {
      const where = error instanceof ZstdDataError ? ` at byte offset ${error.offset}` : '';
      throw new TokenmixError(`${name}: is not a readable zstd file${where} (${(error as Error).message})`);
    }
  }
  if (/\.(jsonl|ndjson|json)(\.(gz|zst))?$/i.test(name)) return { name, format: 'jsonl', bytes: raw };
  throw new TokenmixError(`${name}: not a JSONL (.jsonl, .jsonl.gz, .jsonl.zst) or Parquet file; drop one of those`);
}

async function gunzip(raw: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([raw as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new TokenmixError(`${name}: is not a readable gzip file (${(error as Error).message})`);
  }
}

/** The fields a user can map (id, source, text, quality), from the schema or a sample of lines. */
export async function fieldChoices(file: DroppedFile): Promise<FieldChoices> {
  return file.format === 'parquet' ? parquetFieldChoices(file) : jsonlFieldChoices(file);
}

function jsonlFieldChoices(file: DroppedFile): FieldChoices {
  const seen = new Map<string, boolean>(); // name → every sampled value numeric
  const note = (name: string, value: unknown) => seen.set(name, (seen.get(name) ?? true) && (value === null || isNumber(value)));
  let sampled = 0;
  for (const line of splitLines(file.bytes.subarray(0, Math.min(file.bytes.length, 4 << 20)))) {
    if (line === null || line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      continue; // reported, with its line, when the file is read
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) continue;
    for (const [key, value] of Object.entries(row as Record<string, unknown>)) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [inner, v] of Object.entries(value as Record<string, unknown>)) note(`${key}.${inner}`, v);
      } else {
        note(key, value);
      }
    }
    if (++sampled >= SAMPLE_RECORDS) break;
  }
  return { fields: [...seen.keys()], numeric: [...seen.entries()].filter(([, numeric]) => numeric).map(([name]) => name) };
}

async function parquetFieldChoices(file: DroppedFile): Promise<FieldChoices> {
  const metadata = readParquetMetadata(file);
  const rows = await parquetSample(file, metadata);
  const fields: string[] = [];
  const numeric: string[] = [];
  for (const child of parquetSchema(metadata).children) {
    const name = child.element.name;
    const values = rows.map((row) => row[name]);
    const isStruct = child.children.length > 0 && values.some((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    if (isStruct) {
      for (const inner of child.children) {
        const innerName = `${name}.${inner.element.name}`;
        fields.push(innerName);
        if (values.every((v) => v === null || isNumber((v as Record<string, unknown>)[inner.element.name]))) numeric.push(innerName);
      }
    } else {
      fields.push(name);
      if (values.every((v) => v === null || isNumber(v))) numeric.push(name);
    }
  }
  return { fields, numeric };
}

const isNumber = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';

function readParquetMetadata(file: DroppedFile) {
  try {
    return parquetMetadata(arrayBufferOf(file.bytes));
  } catch (error) {
    throw new TokenmixError(`${file.name}: is not a readable Parquet file (truncated, corrupt or another format?): ${(error as Error).message}`);
  }
}

async function parquetSample(file: DroppedFile, metadata: ReturnType<typeof parquetMetadata>): Promise<Record<string, unknown>[]> {
  const rowEnd = Math.min(Number(metadata.num_rows), SAMPLE_RECORDS);
  return (await parquetReadObjects({ file: arrayBufferOf(file.bytes), metadata, rowEnd, compressors, parsers: { stringFromBytes: strictString } })) as Record<string, unknown>[];
}

/** Every record of the file, validated with the configured fields. */
export async function readDroppedFile(file: DroppedFile, fields: FieldMap, options: { inputSource?: string } = {}): Promise<ReadOutcome> {
  const builder = new BatchBuilder({
    file: file.name,
    rowKind: file.format === 'jsonl' ? 'line' : 'row',
    fields,
    inputSource: options.inputSource,
    batchSize: 8192,
    allowNumericIds: false,
  });
  const outcome: ReadOutcome = { records: [], problems: [], blankLines: 0 };
  const collect = (batch: RecordBatch | undefined) => {
    if (!batch) return;
    for (let i = 0; i < batch.length; i++) {
      const scores: Record<string, number> = dict();
      for (const name of fields.quality ?? []) scores[name] = batch.scores[name][i];
      outcome.records.push({ id: batch.ids[i], source: batch.sources[i], text: batch.texts[i], scores });
    }
    outcome.problems.push(...batch.problems);
    outcome.blankLines += batch.blankLines;
  };
  if (file.format === 'parquet') {
    const metadata = readParquetMetadata(file);
    const refs = locateColumns({ path: file.name, displayPath: file.name, format: 'parquet', compression: 'none', specIndex: 0, ...(options.inputSource ? { source: options.inputSource } : {}) }, fields, parquetSchema(metadata).children.map((c) => c.element.name));
    const columns = [...new Set(refs.all.map((ref) => ref.column))];
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file: arrayBufferOf(file.bytes), metadata, columns, compressors, parsers: { stringFromBytes: strictString } })) as Record<string, unknown>[];
    } catch (error) {
      throw new TokenmixError(`${file.name}: could not be decoded: ${(error as Error).message}`);
    }
    const get = (row: Record<string, unknown>, ref: (typeof refs)['id'] | undefined) => (ref === undefined ? MISSING : valueAt([row[ref.column]], 0, ref));
    rows.forEach((row, i) => {
      builder.addRecord(i, get(row, refs.id), get(row, refs.source), get(row, refs.text), refs.quality.map((ref) => get(row, ref)));
      if (builder.full) collect(builder.take(0));
    });
  } else {
    const idPath = fieldPath(fields.id);
    const textPath = fieldPath(fields.text);
    const sourcePath = fields.source === undefined ? undefined : fieldPath(fields.source);
    const qualityPaths = (fields.quality ?? []).map(fieldPath);
    let lineNumber = 0;
    for (const line of splitLines(file.bytes)) {
      lineNumber++;
      if (line === null) builder.addProblem(lineNumber, WHOLE_LINE, 'invalid-utf8', 'line is not valid UTF-8 (convert the file to UTF-8)');
      else {
        const text = lineNumber === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
        if (text.trim().length === 0) builder.addBlankLine();
        else {
          let record: unknown;
          try {
            record = JSON.parse(text);
          } catch (error) {
            builder.addProblem(lineNumber, WHOLE_LINE, 'malformed-json', `line is not valid JSON (${jsonErrorText(error)})`);
            record = undefined;
          }
          if (record !== undefined) {
            if (record === null || typeof record !== 'object' || Array.isArray(record)) {
              const kind = record === null ? 'null' : Array.isArray(record) ? 'an array' : `a ${typeof record}`;
              builder.addProblem(lineNumber, WHOLE_LINE, 'not-an-object', `line is JSON ${kind}, expected an object with the record's fields`);
            } else {
              const object = record as Record<string, unknown>;
              builder.addRecord(lineNumber, getField(object, idPath), sourcePath === undefined ? MISSING : getField(object, sourcePath), getField(object, textPath), qualityPaths.map((p) => getField(object, p)));
            }
          }
        }
      }
      if (builder.full) collect(builder.take(0));
    }
  }
  collect(builder.take(file.bytes.length));
  return outcome;
}

/** As the Node reader words it: the engine's JSON.parse message, on one line and short. */
function jsonErrorText(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * The lines of a file held in memory (null for a line that is not valid UTF-8), split on the
 * byte 0x0A like the Node reader's LineSplitter: one strict decode of the whole file, and only
 * when that fails one decode per line to find the bad ones. A final newline ends the last line.
 */
function splitLines(bytes: Uint8Array): (string | null)[] {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  if (end === 0) return [];
  try {
    return decoder.decode(bytes.subarray(0, end)).split('\n');
  } catch {
    const lines: (string | null)[] = [];
    for (let start = 0; start <= end; ) {
      const stop = bytes.indexOf(0x0a, start);
      const last = stop < 0 || stop >= end ? end : stop;
      try {
        lines.push(decoder.decode(bytes.subarray(start, last)));
      } catch {
        lines.push(null);
      }
      start = last + 1;
    }
    return lines;
  }
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}

