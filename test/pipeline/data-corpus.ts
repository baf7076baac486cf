/**
 * Inputs and independent readers of data-output.test.ts: seeded JSONL/Parquet corpora whose
 * kept and dropped records are known by construction, parquet-wasm (arrow-rs, not hyparquet)
 * as the independent Parquet reader, hyparquet and tokenmix's own reader as the others.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { readRecords } from '../../src/io/index.js';
import type { ResolvedInput } from '../../src/io/types.js';
import { writeConfig } from './helpers.js';

export const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'café', 'straße', 'données', 'omega', 'river', 'engine'];
export const RECORDS = 40;

/** Record i of a JSONL shard: kept unless i % 4 == 0 (quality 0.1 < 0.5) or i % 10 == 5 (same text as i - 4). */
export function jsonRecord(shard: number, i: number): { line: string; object: Record<string, unknown>; words: number } {
  const textIndex = i % 10 === 5 ? i - 4 : i;
  const words = Array.from({ length: 5 + (textIndex % 7) }, (_, w) => WORDS[(textIndex * 3 + w + shard) % WORDS.length]);
  const text = `${words.join(' ')} s${shard}n${textIndex}`;
  const quality = i % 4 === 0 ? 0.1 : 0.5 + i / 100;
  // Key order, spacing, nested values and an integer beyond 2^53: written back as they are.
  const meta = i % 3 === 0 ? `{"lang":"en","tags":["a","b\\u00e9"],"n":${i},"deep":{"x":[1,2,{"y":null}]}}` : i % 3 === 1 ? 'null' : '{"lang":"fr","emoji":"😀"}';
  const line = i % 2 === 0
    ? `{"id":"j${shard}-${i}","text":${JSON.stringify(text)},"source":"web","quality":${quality},"meta":${meta},"big":12345678901234567890}`
    : `{ "meta" : ${meta}, "quality": ${quality}, "id": "j${shard}-${i}", "source": "web", "text": ${JSON.stringify(text)}, "flag": ${i % 5 === 0} }`;
  return { line, object: JSON.parse(line) as Record<string, unknown>, words: words.length + 1 };
}

export const keptIndex = (i: number) => i % 4 !== 0 && i % 10 !== 5;

/** JSONL shards: plain, gzip (Node), zstd (the zstd command); one bad line (quarantined) in shard 0. */
export function writeJsonCorpus(dir: string): void {
  const text = (shard: number) => Array.from({ length: RECORDS }, (_, i) => jsonRecord(shard, i).line).join('\n') + '\n';
  writeFileSync(join(dir, 'a.jsonl'), `${text(0)}{"id":"bad","source":"web","quality":0.9}\n`);
  writeFileSync(join(dir, 'b.jsonl.gz'), gzipSync(text(1)));
  writeFileSync(join(dir, 'c.jsonl.zst'), execFileSync('zstd', ['-q', '-c'], { input: text(2) }));
}

export function jsonConfig(dir: string, output?: unknown): string {
  return writeConfig(dir, {
    inputs: ['a.jsonl', 'b.jsonl.gz', 'c.jsonl.zst'],
    fields: { quality: 'quality' },
    filters: { quality: { field: 'quality', thresholds: { web: 0.5 } } },
    dedup: { exact: true },
    on_error: 'quarantine',
    ...(output === undefined ? {} : { output }),
  });
}

/** parquet-wasm (arrow-rs) → apache-arrow: the independent reader. Rows as plain objects. */
export function independentParquet(path: string): { rows: Record<string, unknown>[]; types: Record<string, string> } {
  const table = tableFromIPC(readParquet(readFileSync(path)).intoIPCStream());
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  const rows = table.toArray().map((row) => plain(row.toJSON()) as Record<string, unknown>);
  return { rows, types };
}

function plain(value: unknown): unknown {
  if (value === null || value === undefined || typeof value !== 'object') return value ?? null;
  if (value instanceof Uint8Array) return Array.from(value);
  if (typeof (value as { toArray?: unknown }).toArray === 'function') return Array.from(value as Iterable<unknown>, plain);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return plain((value as { toJSON(): unknown }).toJSON());
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

export async function hyparquetRows(path: string): Promise<Record<string, unknown>[]> {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return parquetReadObjects({ file, compressors });
}

export function resolved(path: string, format: 'jsonl' | 'parquet', compression: 'none' | 'gzip' | 'zstd' = 'none', source?: string): ResolvedInput {
  return { path, displayPath: path, format, compression, specIndex: 0, ...(source ? { source } : {}) };
}

export async function tokenmixIds(input: ResolvedInput): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of readRecords(input, { id: 'id', text: 'text', source: 'source' })) ids.push(...batch.ids);
  return ids;
}

/** A Parquet input with nested and typed columns (written with an explicit schema). */
export function writeNestedParquet(path: string, count: number): void {
  const rows = Array.from({ length: count }, (_, i) => ({
    id: `p-${i}`,
    text: `${WORDS.slice(0, 3 + (i % 5)).join(' ')} p${i}`,
    quality: i % 4 === 0 ? 0.1 : 0.75,
    count: BigInt(i) * 1_000_000_000_000n,
    day: 19000 + i,
    at: BigInt(1_700_000_000_000 + i),
    meta: i % 3 === 0 ? null : { lang: i % 2 ? 'en' : 'de', score: i / 8 },
    tags: i % 5 === 0 ? [] : Array.from({ length: i % 3 + 1 }, (_, k) => `t${k}`),
  }));
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    columnData: Object.keys(rows[0]).map((name) => ({ name, data: rows.map((r) => r[name as keyof typeof r]) })),
    schema: [
      { name: 'root', num_children: 8 },
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'quality', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'count', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
      { name: 'at', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' },
      { name: 'meta', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'lang', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'score', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
    rowGroupSize: 16,
  });
  writeFileSync(path, writer.getBytes());
}
