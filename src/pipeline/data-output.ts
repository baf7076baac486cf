/**
 * The curated data itself (SPEC §6; config `output`, README "Outputs"): every kept record,
 * whole, written under DIR/data/ in the requested format — and with `output.dropped`, every
 * dropped record under DIR/excluded/<stage>/<reason>/ (datatrove's exclusion writers). Files
 * are cut per input shard (`data/00003-name.parquet`) or, with `output.shard_bytes`, into
 * parts of about that many record bytes (`data/part-00000.parquet`); a part never mixes
 * formats or Parquet schemas. Shards with no record to write leave no file.
 *
 * Runs in the reduce phase, after every record's fate is final, reading the inputs once more
 * in shard order: the written bytes depend only on the inputs, the config and the fates, never
 * on the backend, the ranks or restarts. Each file goes to the manifest with its SHA-256, rows
 * and tokens.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join, relative, sep } from 'node:path';
import { TokenmixError } from '../errors.js';
import { causeText } from '../io/bytes.js';
import { arrowFileSchema, parquetFileMetadata, readOriginals, type OriginalRecord } from '../io/original.js';
import type { ResolvedInput } from '../io/types.js';
import { JsonlWriter } from '../io/write-jsonl.js';
import { ParquetFileWriter } from '../io/write-parquet.js';
import { arrowPlan, JsonSchemaInference, jsonText, parquetPlan, RAW_PARSERS, type ParquetSchemaPlan } from './data-schema.js';
import type { DataFormat, ExtraColumn, OutputConfig } from './output-config.js';
import { shardName, type OutputFile, type ReduceContext } from './outputs.js';
import { dropOf, KEPT, QUARANTINED, type Fate } from '../steps/stages.js';
import type { ShardRecord } from './shard.js';
import { shardRecords } from './records.js';

type Valid = Extract<ShardRecord, { hash: string }>;
type FileFormat = Exclude<DataFormat, 'input'>;

const EXTENSION: Record<FileFormat, string> = { jsonl: '.jsonl', 'jsonl.gz': '.jsonl.gz', 'jsonl.zst': '.jsonl.zst', parquet: '.parquet' };

/** The format a shard is written in: the configured one, or for `input` the input's own. */
export function fileFormat(output: OutputConfig, input: ResolvedInput): FileFormat {
  if (output.format !== 'input') return output.format;
  if (input.format !== 'jsonl') return 'parquet';
  return input.compression === 'gzip' ? 'jsonl.gz' : input.compression === 'zstd' ? 'jsonl.zst' : 'jsonl';
}

interface Written {
  record: Valid;
  fate: Fate;
  original: OriginalRecord;
}

/** A shard's records that are not quarantined, each with its fate and its original record. */
async function* written(ctx: ReduceContext, shard: number, parsers: 'raw' | 'json'): AsyncGenerator<Written> {
  const input = ctx.inputs[shard];
  const originals = readOriginals(input, { batchSize: ctx.config.batch_size, ...(parsers === 'raw' ? { parsers: RAW_PARSERS, utf8: false } : {}) });
  const fates = ctx.decisions.fates[shard];
  let index = 0;
  try {
    for await (const record of shardRecords(ctx.workDir, ctx.markers[shard])) {
      const fate = fates[index++] as Fate;
      if (fate === QUARANTINED || record.id === undefined) continue;
      let next = await originals.next();
      while (!next.done && next.value.row < record.row) next = await originals.next();
      if (next.done || next.value.row !== record.row) {
        throw new TokenmixError(`${input.displayPath} changed while the run was reduced (record ${record.row} is gone); rerun with the input left as it is`, { where: input.displayPath });
      }
      yield { record, fate, original: next.value };
    }
  } finally {
    await originals.return(undefined);
  }
}

function parsedObject(original: OriginalRecord): Record<string, unknown> {
  return original.value ?? (JSON.parse(original.line) as Record<string, unknown>);
}

function extrasOf(extras: readonly ExtraColumn[], record: Valid, clusters: Map<string, number> | null): [string, unknown][] {
  return extras.map((extra): [string, unknown] => {
    const value = extra === 'source' ? record.source : extra === 'tokens' ? record.tokens : extra === 'quality' ? record.score : (clusters?.get(record.id) ?? null);
    return [`tokenmix_${extra}`, value];
  });
}

/** A JSONL line: the original line as read (plus the extra fields before its closing brace), or the row as JSON. */
function jsonlLine(original: OriginalRecord, extras: [string, unknown][], where: string): string {
  if (original.line === undefined) return jsonText(extras.length === 0 ? original.value : { ...original.value, ...Object.fromEntries(extras) });
  const body = original.line.trim();
  if (extras.length === 0) return body;
  const object = JSON.parse(body) as Record<string, unknown>;
  for (const [name] of extras) {
    if (Object.hasOwn(object, name)) throw new TokenmixError(`${where}:${original.row}: field "${name}" already exists; remove it from output.extra_columns or rename that field`, { where: `${where}:${original.row}` });
  }
  const inner = body.slice(1, -1);
  const added = extras.map(([name, value]) => `${JSON.stringify(name)}:${jsonText(value)}`).join(',');
  return `{${inner}${inner.trim() === '' ? '' : ','}${added}}`;
}

function parquetRow(original: OriginalRecord, extras: [string, unknown][], plan: ParquetSchemaPlan): Record<string, unknown> {
  const row: Record<string, unknown> = { ...parsedObject(original), ...Object.fromEntries(extras) };
  for (const [name, convert] of plan.convert) if (row[name] !== undefined && row[name] !== null) row[name] = convert(row[name]);
  return row;
}

/** Size of a record for `shard_bytes` and row groups: its JSONL line, or an estimate from its values. */
function recordBytes(original: OriginalRecord): number {
  return original.line !== undefined ? Buffer.byteLength(original.line) + 1 : valueBytes(original.value);
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + valueBytes(v), 0);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return Object.values(value).reduce((n: number, v) => n + valueBytes(v), 0);
  return 8;
}

interface OpenFile {
  path: string;
  format: FileFormat;
  key: string;
  writer: JsonlWriter | ParquetFileWriter;
  rows: number;
  tokens: number;
  bytes: number;
}

/** The files of one directory (the kept records, or one stage and reason of the dropped ones). */
class FileGroup {
  private current: OpenFile | null = null;
  private parts = 0;
  readonly files: OutputFile[] = [];

  constructor(private readonly dir: string, private readonly outDir: string, private readonly shardBytes: number | null) {}

  async add(name: string, format: FileFormat, plan: ParquetSchemaPlan | null, row: string | Record<string, unknown>, bytes: number, tokens: number): Promise<void> {
    const key = plan?.key ?? format;
    const c = this.current;
    if (c && (c.format !== format || c.key !== key || (this.shardBytes !== null && c.bytes + bytes > this.shardBytes))) await this.close();
    if (!this.current) {
      const base = this.shardBytes === null ? name : `part-${String(this.parts++).padStart(5, '0')}`;
      const path = join(this.dir, `${base}${EXTENSION[format]}`);
      await mkdir(this.dir, { recursive: true });
      const writer = format === 'parquet' ? await ParquetFileWriter.create(path, plan!.schema) : await JsonlWriter.create(path, format === 'jsonl.gz' ? 'gzip' : format === 'jsonl.zst' ? 'zstd' : 'none');
      this.current = { path, format, key, writer, rows: 0, tokens: 0, bytes: 0 };
    }
    const file = this.current!;
    if (typeof row === 'string') await (file.writer as JsonlWriter).writeLine(row);
    else await (file.writer as ParquetFileWriter).writeRow(row, bytes);
    file.rows++;
    file.tokens += tokens;
    file.bytes += bytes;
  }

  /** Per-shard files end with their shard; parts run on. */
  async endShard(): Promise<void> {
    if (this.shardBytes === null) await this.close();
  }

  async close(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = null;
    const done = await file.writer.close();
    this.files.push({ path: relative(this.outDir, done.path).split(sep).join('/'), bytes: done.bytes, sha256: done.sha256, rows: file.rows, tokens: file.tokens });
  }

  abort(): Promise<void> {
    const file = this.current;
    this.current = null;
    return file ? file.writer.abort() : Promise.resolve();
  }
}

async function clusterIds(outDir: string): Promise<Map<string, number>> {
  const clusters = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(join(outDir, 'clusters.jsonl')), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const { id, cluster } = JSON.parse(line) as { id: string; cluster: number };
    clusters.set(id, cluster);
  }
  return clusters;
}

/** Writes DIR/data/ (and DIR/excluded/) for `config.output`; returns the files for the manifest. */
export async function writeData(ctx: ReduceContext): Promise<OutputFile[]> {
  const { config, inputs, markers, outDir } = ctx;
  for (const dir of ['data', 'excluded']) await rm(join(outDir, dir), { recursive: true, force: true });
  const output = config.output;
  if (!output) return [];
  const writes = (fate: Fate) => fate === KEPT || output.dropped;
  const extras = output.extra_columns;
  const clusters = extras.includes('cluster') && config.dedup.near ? await clusterIds(outDir) : null;

  // One schema for every JSONL input written as Parquet, from all the records written.
  const formats = inputs.map((input) => fileFormat(output, input));
  let jsonlPlan: ParquetSchemaPlan | null = null;
  const jsonlShards = markers.map((_, shard) => shard).filter((shard) => inputs[shard].format === 'jsonl' && formats[shard] === 'parquet');
  if (jsonlShards.length > 0) {
    const inference = new JsonSchemaInference();
    for (const shard of jsonlShards) {
      for await (const { fate, original } of written(ctx, shard, 'json')) if (writes(fate)) inference.add(parsedObject(original));
    }
    jsonlPlan = inference.plan(extras);
  }

  const kept = new FileGroup(join(outDir, 'data'), outDir, output.shard_bytes);
  const excluded = new Map<string, FileGroup>();
  const groups = () => [kept, ...[...excluded.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, group]) => group)];
  let writing = { file: '', format: '' };
  try {
    for (const [shard, marker] of markers.entries()) {
      const input = inputs[shard];
      writing = { file: input.displayPath, format: formats[shard] };
      const format = formats[shard];
      const name = shardName(shard, marker.file);
      let plan: ParquetSchemaPlan | null = null;
      if (format === 'parquet') {
        if (input.format === 'jsonl') plan = jsonlPlan;
        else if (input.format === 'parquet') plan = parquetPlan((await parquetFileMetadata(input)).schema, extras, input.displayPath);
        else plan = arrowPlan(await arrowFileSchema(input), extras, input.displayPath);
      }
      const parsers = format === 'parquet' && input.format === 'parquet' ? 'raw' : 'json';
      for await (const { record, fate, original } of written(ctx, shard, parsers)) {
        if (!writes(fate)) continue;
        let group = kept;
        if (fate !== KEPT) {
          const drop = dropOf(fate)!;
          const key = `${drop.stage}/${drop.reason}`;
          group = excluded.get(key) ?? new FileGroup(join(outDir, 'excluded', drop.stage, drop.reason!.replace(/[^A-Za-z0-9._-]/g, '_')), outDir, output.shard_bytes);
          excluded.set(key, group);
        }
        const added = extrasOf(extras, record, clusters);
        const row = plan ? parquetRow(original, added, plan) : jsonlLine(original, added, input.displayPath);
        await group.add(name, format, plan, row, recordBytes(original), record.tokens);
      }
      for (const group of groups()) await group.endShard();
    }
    for (const group of groups()) await group.close();
  } catch (error) {
    for (const group of groups()) await group.abort();
    if (error instanceof TokenmixError) throw error;
    // A writer's own failure (e.g. a Parquet type hyparquet-writer cannot encode): say where, and what to do.
    throw new TokenmixError(
      `could not write the curated data of ${writing.file} as ${writing.format}: ${causeText(error)}; choose another output.format (jsonl writes any record)`,
      { where: writing.file, cause: error },
    );
  }
  return groups().flatMap((group) => group.files);
}
