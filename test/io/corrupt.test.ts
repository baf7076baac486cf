/**
 * Unreadable files (truncated or corrupt gzip, zstd, Parquet, Arrow; missing files; missing
 * columns) fail with one TokenmixError naming the file and what failed, never a raw library
 * error (SPEC §7).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRecords, writeArrow, writeJsonl, writeParquet } from '../../fixtures/io/generate.js';
import { TokenmixError } from '../../src/errors.js';
import type { ResolvedInput } from '../../src/io/index.js';
import { inputFor, readAll, tempDir } from './helpers.js';

const temp = tempDir();
const FIELDS = { id: 'id', text: 'text', source: 'source' };
const records = () => syntheticRecords({ seed: 3, count: 400 });

/** Writes a damaged copy of `from` and returns its path. */
function damaged(from: string, to: string, damage: (bytes: Buffer) => Buffer): string {
  const path = join(temp.dir, to);
  writeFileSync(path, damage(readFileSync(join(temp.dir, from))));
  return path;
}
const truncate = (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2));
/** Overwrites a stretch in the middle of the file (page headers, block headers) with 0xff. */
const scribble = (bytes: Buffer) => {
  const copy = Buffer.from(bytes);
  copy.fill(0xff, Math.floor(copy.length * 0.3), Math.floor(copy.length * 0.3) + 64);
  return copy;
};

beforeAll(async () => {
  await writeJsonl(join(temp.dir, 'ok.jsonl.gz'), records(), { compression: 'gzip' });
  await writeJsonl(join(temp.dir, 'ok.jsonl.zst'), records(), { compression: 'zstd', zstd: 'raw' });
  await writeParquet(join(temp.dir, 'ok.parquet'), records(), { rowGroupRows: 100 });
  await writeArrow(join(temp.dir, 'ok.arrow'), records(), { format: 'file', batchRows: 100 });
  await writeArrow(join(temp.dir, 'ok.arrows'), records(), { format: 'stream', batchRows: 100 });
});
afterAll(() => temp.cleanup());

interface CorruptCase {
  name: string;
  make: () => string;
  format: ResolvedInput['format'];
  /** Expected message after `tokenmix: <file> `. */
  what: string;
}

const CASES: CorruptCase[] = [
  { name: 'truncated gzip', make: () => damaged('ok.jsonl.gz', 'cut.jsonl.gz', truncate), format: 'jsonl', what: 'is not valid gzip data' },
  { name: 'gzip with a scribbled middle', make: () => damaged('ok.jsonl.gz', 'bad.jsonl.gz', scribble), format: 'jsonl', what: 'is not valid gzip data' },
  { name: 'text named .gz', make: () => damaged('ok.jsonl.gz', 'text.jsonl.gz', () => Buffer.from('{"id":"a"}\n')), format: 'jsonl', what: 'is not valid gzip data' },
  { name: 'truncated zstd', make: () => damaged('ok.jsonl.zst', 'cut.jsonl.zst', truncate), format: 'jsonl', what: 'is not valid zstd data' },
  { name: 'zstd magic then garbage', make: () => damaged('ok.jsonl.zst', 'junk.jsonl.zst', () => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, ...Array(40).fill(0xff)])), format: 'jsonl', what: 'is not valid zstd data' },
  { name: 'truncated Parquet (no footer)', make: () => damaged('ok.parquet', 'cut.parquet', truncate), format: 'parquet', what: 'is not a readable Parquet file' },
  { name: 'JSON named .parquet', make: () => damaged('ok.parquet', 'json.parquet', () => Buffer.from('{"id":"a","text":"b"}\n')), format: 'parquet', what: 'is not a readable Parquet file' },
  { name: 'Parquet with a scribbled page', make: () => damaged('ok.parquet', 'bad.parquet', scribble), format: 'parquet', what: 'could not be decoded' },
  { name: 'truncated Arrow file', make: () => damaged('ok.arrow', 'cut.arrow', truncate), format: 'arrow', what: 'is not a readable Arrow IPC file' },
  { name: 'truncated Arrow stream', make: () => damaged('ok.arrows', 'cut.arrows', truncate), format: 'arrow', what: 'could not be decoded' },
  { name: 'Parquet named .arrow', make: () => damaged('ok.parquet', 'parquet.arrow', (b) => b), format: 'arrow', what: 'is not a readable Arrow IPC file' },
  { name: 'missing file', make: () => join(temp.dir, 'nope.jsonl'), format: 'jsonl', what: 'could not be opened' },
];

describe('unreadable files fail with a TokenmixError naming the file', () => {
  it.each(CASES)('$name', async ({ make, format, what }) => {
    const path = make();
    const display = `shards/${path.split('/').at(-1)}`;
    const error = await readAll(inputFor(path, display, format), FIELDS).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TokenmixError);
    const message = (error as Error).message;
    expect(message.startsWith(`tokenmix: ${display} ${what}`)).toBe(true);
    expect(message).not.toContain('\n');
  });

  it('a Parquet file without the configured text column names the column and the fix', async () => {
    const input = inputFor(join(temp.dir, 'ok.parquet'), 'ok.parquet', 'parquet');
    await expect(readAll(input, { id: 'id', text: 'body', source: 'source' })).rejects.toThrow(
      'tokenmix: ok.parquet has no column "body" (its columns: id, source, text, quality); set fields.text in the config',
    );
  });

  it('an Arrow file without the configured source column and no input source', async () => {
    const input = inputFor(join(temp.dir, 'ok.arrow'), 'ok.arrow', 'arrow');
    await expect(readAll(input, { id: 'id', text: 'text', source: 'domain' })).rejects.toThrow(/ok\.arrow has no column "domain" .* and the input sets no source/);
    // With an input source the missing column is fine: every record takes the input's source.
    const withSource = await readAll({ ...input, source: 'web' }, { id: 'id', text: 'text', source: 'domain' });
    expect(new Set(withSource.sources)).toEqual(new Set(['web']));
  });
});

describe('a .json file holding one JSON array', () => {
  it('fails once with the fix, instead of a problem per line', async () => {
    const path = join(temp.dir, 'array.json');
    writeFileSync(path, '[\n  {"id": "a", "text": "x"},\n  {"id": "b", "text": "y"}\n]\n');
    await expect(readAll(inputFor(path, 'array.json', 'jsonl', { source: 's' }), FIELDS)).rejects.toThrow(
      "tokenmix: array.json looks like one JSON array, not JSON Lines (one object per line); convert it, e.g. jq -c '.[]' in.json > out.jsonl",
    );
  });
});
