/**
 * Every format round-trips the same seeded records identically (SPEC §1: JSONL plain/.gz/.zst,
 * Parquet, Arrow IPC), in order, in batches of at most `batchSize`, and the real
 * licenses corpus (zstd JSONL, 2,270 records) reads completely.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasZstdCli, syntheticRecords, writeArrow, writeJsonl, writeParquet, type SyntheticRecord,
} from '../../fixtures/io/generate.js';
import { readRecords, resolveInputs, type FieldMap, type ResolvedInput } from '../../src/io/index.js';
import { readAll, tempDir } from './helpers.js';

const COUNT = 1200;
const BATCH = 500;
const FIELDS: FieldMap = { id: 'id', text: 'text', source: 'source', quality: ['quality'] };
const expected: SyntheticRecord[] = [...syntheticRecords({ seed: 7, count: COUNT, meanWords: 20 })];
const records = () => syntheticRecords({ seed: 7, count: COUNT, meanWords: 20 });

interface Case {
  name: string;
  file: string;
  write: (path: string) => Promise<void>;
  rowKind: 'line' | 'row';
}

const CASES: Case[] = [
  { name: 'JSONL plain', file: 'plain.jsonl', rowKind: 'line', write: (p) => writeJsonl(p, records()) },
  { name: 'JSONL gzip', file: 'gz.jsonl.gz', rowKind: 'line', write: (p) => writeJsonl(p, records(), { compression: 'gzip' }) },
  { name: 'JSONL zstd, raw multi-frame', file: 'raw.jsonl.zst', rowKind: 'line', write: (p) => writeJsonl(p, records(), { compression: 'zstd', zstd: 'raw' }) },
  ...(hasZstdCli()
    ? [{ name: 'JSONL zstd, compressed by the zstd CLI', file: 'cli.jsonl.zst', rowKind: 'line' as const, write: (p: string) => writeJsonl(p, records(), { compression: 'zstd', zstd: 'cli' }) }]
    : []),
  ...(['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI'] as const).map((codec) => ({
    name: `Parquet ${codec}, 3 row groups`, file: `${codec.toLowerCase()}.parquet`, rowKind: 'row' as const,
    write: (p: string) => writeParquet(p, records(), { codec, rowGroupRows: 500 }),
  })),
  {
    name: 'Parquet with small pages (offset indexes, page-level reads)', file: 'pages.parquet', rowKind: 'row',
    write: (p) => writeParquet(p, records(), { rowGroupRows: 700, pageSize: 4 * 1024 }),
  },
  {
    name: 'Parquet, one row group larger than a batch, no offset index', file: 'one-group.parquet', rowKind: 'row',
    write: (p) => writeParquet(p, records(), { rowGroupRows: COUNT, offsetIndex: false }),
  },
  { name: 'Arrow IPC file', file: 'table.arrow', rowKind: 'row', write: (p) => writeArrow(p, records(), { format: 'file', batchRows: 300 }) },
  { name: 'Arrow IPC stream', file: 'table.arrows', rowKind: 'row', write: (p) => writeArrow(p, records(), { format: 'stream', batchRows: 300 }) },
];

const temp = tempDir();
let inputs: Map<string, ResolvedInput>;

beforeAll(async () => {
  for (const testCase of CASES) await testCase.write(join(temp.dir, testCase.file));
  inputs = new Map(resolveInputs(CASES.map((c) => ({ path: c.file })), temp.dir).map((input) => [input.displayPath, input]));
});
afterAll(() => temp.cleanup());

describe('every format returns the generated records', () => {
  it.each(CASES)('$name', async ({ file, rowKind }) => {
    const input = inputs.get(file)!;
    const result = await readAll(input, FIELDS, { batchSize: BATCH });
    expect(result.problems).toEqual([]);
    expect(result.ids).toEqual(expected.map((r) => r.id));
    expect(result.sources).toEqual(expected.map((r) => r.source));
    expect(result.texts).toEqual(expected.map((r) => r.text));
    expect(result.scores.quality).toEqual(expected.map((r) => r.quality));
    expect(result.rows).toEqual(expected.map((_, i) => (rowKind === 'line' ? i + 1 : i)));
    // Batches are full except the last, and describe themselves consistently.
    expect(result.batches.map((b) => b.length)).toEqual([500, 500, 200]);
    for (const batch of result.batches) {
      expect(batch.rowKind).toBe(rowKind);
      expect(batch.file).toBe(file);
      expect(batch.scores.quality).toBeInstanceOf(Float64Array);
      expect(batch.rows).toBeInstanceOf(Uint32Array);
      expect([batch.ids.length, batch.sources.length, batch.texts.length, batch.rows.length]).toEqual([batch.length, batch.length, batch.length, batch.length]);
    }
    // Progress never goes back and ends at the file size.
    const progress = result.batches.map((b) => b.bytesRead);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(statSync(input.path).size);
  });
});

describe.skipIf(!existsSync('/proc/self/fd'))('stopping early closes the file', () => {
  it.each(CASES)('$name', async ({ file }) => {
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    for await (const batch of readRecords(inputs.get(file)!, FIELDS, { batchSize: 100 })) {
      expect(batch.length).toBe(100);
      break;
    }
    // fs streams close asynchronously after destroy(): wait for it (longer on a loaded machine).
    for (let waited = 0; waited < 2000 && openFiles() > before; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    // At most: pipes of the zstd child used by beforeAll may still be closing.
    expect(openFiles()).toBeLessThanOrEqual(before);
  });
});

describe('Parquet fixtures exercise both read paths', () => {
  const offsetIndexed = async (file: string) => {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(join(temp.dir, file)));
    return metadata.row_groups.map((group) => group.columns.filter((chunk) => chunk.offset_index_offset !== undefined).map((chunk) => chunk.meta_data?.path_in_schema[0]));
  };
  it('small pages give offset indexes on the big columns (page-level reads); the single group has none', async () => {
    expect(await offsetIndexed('pages.parquet')).toEqual([['id', 'text', 'quality'], ['text']]);
    expect(await offsetIndexed('one-group.parquet')).toEqual([[]]);
  });
});

describe('the real licenses corpus (zstd JSONL)', () => {
  it('reads all 2,270 records without problems', async () => {
    const [input] = resolveInputs([{ path: 'licenses-npm/corpus.jsonl.zst' }], '/work/shared/data');
    expect(input).toMatchObject({ format: 'jsonl', compression: 'zstd', displayPath: 'licenses-npm/corpus.jsonl.zst' });
    const result = await readAll(input, { id: 'id', text: 'text', source: 'source' });
    expect(result.ids.length).toBe(2270);
    expect(result.problems).toEqual([]);
    expect(new Set(result.ids).size).toBe(2270);
    expect(result.ids[0]).toBe('licenses/Apache-2.0');
    expect(result.texts[0]).toContain('Apache License');
    expect(result.rows.at(-1)).toBe(2270);
    // 11,045,589 bytes decompressed: 2,270 newlines plus the JSON around the fields.
    expect(result.texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0)).toBeLessThan(11_045_589);
  });
});
