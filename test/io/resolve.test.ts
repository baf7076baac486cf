/** Input resolution: globs, ordering, duplicates, formats, `{source}` captures, errors. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import { formatFromName, readRecords, resolveInputs } from '../../src/io/index.js';
import { globToRegExp } from '../../src/io/resolve.js';
import { tempDir } from './helpers.js';

const temp = tempDir();
const FILES = [
  'data/web/b.jsonl', 'data/web/a.jsonl', 'data/code/0.jsonl.zst', 'data/math/x.parquet', 'data/.hidden/h.jsonl',
  'flat/news-2024.jsonl', 'flat/blog-2023.jsonl', 'odd/[1].jsonl', 'odd/notes.txt', 'arrow/t.feather', 'arrow/s.arrows',
];

beforeAll(() => {
  for (const file of FILES) {
    mkdirSync(join(temp.dir, file, '..'), { recursive: true });
    writeFileSync(join(temp.dir, file), '{"id":"a","text":"b"}\n');
  }
});
afterAll(() => temp.cleanup());

const summary = (specs: Parameters<typeof resolveInputs>[0]) =>
  resolveInputs(specs, temp.dir).map((i) => [i.displayPath, i.format, i.compression, i.source ?? null, i.specIndex]);

describe('resolveInputs', () => {
  it('expands globs sorted, infers formats, lists each file once under its first spec', () => {
    expect(summary([{ path: 'data/web/*.jsonl', source: 'web' }, { path: 'data/**/*' }])).toEqual([
      ['data/web/a.jsonl', 'jsonl', 'none', 'web', 0],
      ['data/web/b.jsonl', 'jsonl', 'none', 'web', 0],
      ['data/code/0.jsonl.zst', 'jsonl', 'zstd', null, 1],
      ['data/math/x.parquet', 'parquet', 'none', null, 1],
    ]);
  });

  it('captures {source} from a path segment, or part of one; an explicit source wins', () => {
    expect(summary([{ path: 'data/{source}/*' }])).toEqual([
      ['data/code/0.jsonl.zst', 'jsonl', 'zstd', 'code', 0],
      ['data/math/x.parquet', 'parquet', 'none', 'math', 0],
      ['data/web/a.jsonl', 'jsonl', 'none', 'web', 0],
      ['data/web/b.jsonl', 'jsonl', 'none', 'web', 0],
    ]);
    expect(summary([{ path: 'flat/{source}-20*.jsonl' }]).map((r) => r[3])).toEqual(['blog', 'news']);
    expect(summary([{ path: 'flat/{source}-*.jsonl', source: 'fixed' }]).map((r) => r[3])).toEqual(['fixed', 'fixed']);
  });

  it('the captured source reaches the records', async () => {
    const [input] = resolveInputs([{ path: 'data/{source}/a.jsonl' }], temp.dir);
    const sources: string[] = [];
    for await (const batch of readRecords(input, { id: 'id', text: 'text', source: 'source' })) sources.push(...batch.sources);
    expect(sources).toEqual(['web']);
  });

  it('takes literal paths as they are, even with glob characters', () => {
    expect(summary([{ path: 'odd/[1].jsonl' }])).toEqual([['odd/[1].jsonl', 'jsonl', 'none', null, 0]]);
    expect(summary([{ path: join(temp.dir, 'data/web/a.jsonl') }]).map((r) => r[0])).toEqual(['data/web/a.jsonl']);
  });

  it('follows .. in globs and shows files outside the base dir by absolute path', () => {
    const inputs = resolveInputs([{ path: '../web/*.jsonl' }], join(temp.dir, 'data/code'));
    expect(inputs.map((i) => i.displayPath)).toEqual([join(temp.dir, 'data/web/a.jsonl'), join(temp.dir, 'data/web/b.jsonl')]);
  });

  it('format: extension wins unless the spec sets one; Arrow extensions', () => {
    expect(summary([{ path: 'arrow/*' }])).toEqual([['arrow/s.arrows', 'arrow', 'none', null, 0], ['arrow/t.feather', 'arrow', 'none', null, 0]]);
    expect(summary([{ path: 'odd/notes.txt', format: 'jsonl' }])).toEqual([['odd/notes.txt', 'jsonl', 'none', null, 0]]);
  });

  const ERRORS: { name: string; specs: Parameters<typeof resolveInputs>[0]; message: string | RegExp }[] = [
    { name: 'glob matching nothing', specs: [{ path: 'data/*.csv' }], message: `tokenmix: input path "data/*.csv" matches no file (relative to ${temp.dir})` },
    { name: 'missing literal file', specs: [{ path: 'data/none.jsonl' }], message: `tokenmix: input path "data/none.jsonl" matches no file (relative to ${temp.dir})` },
    { name: 'directory', specs: [{ path: 'data/web' }], message: /input path "data\/web" is a directory .* use a glob such as "data\/web\/\*\.jsonl"/ },
    { name: 'unknown extension', specs: [{ path: 'odd/*' }], message: 'tokenmix: input "odd/notes.txt" has an unknown extension; add "format": "jsonl", "parquet" or "arrow" to the input "odd/*"' },
    { name: 'bad format', specs: [{ path: 'x', format: 'csv' as 'jsonl' }], message: 'tokenmix: inputs[0].format is "csv"; expected "jsonl", "parquet" or "arrow"' },
    { name: 'two captures', specs: [{ path: '{source}/{source}.jsonl' }], message: /more than one \{source\} capture/ },
  ];
  it.each(ERRORS)('error: $name', ({ specs, message }) => {
    expect(() => resolveInputs(specs, temp.dir)).toThrow(TokenmixError);
    expect(() => resolveInputs(specs, temp.dir)).toThrow(message);
  });
});

describe('formatFromName', () => {
  it.each([
    ['a.jsonl', 'jsonl', 'none'], ['a.JSON', 'jsonl', 'none'], ['a.ndjson', 'jsonl', 'none'], ['a.jsonl.gz', 'jsonl', 'gzip'],
    ['a.json.gz', 'jsonl', 'gzip'], ['a.jsonl.zst', 'jsonl', 'zstd'], ['a.parquet', 'parquet', 'none'], ['a.arrow', 'arrow', 'none'],
    ['a.arrows', 'arrow', 'none'], ['a.ipc', 'arrow', 'none'], ['a.feather', 'arrow', 'none'],
  ])('%s → %s/%s', (name, format, compression) => {
    expect(formatFromName(name)).toEqual({ format, compression });
  });
  it('unknown → undefined', () => expect(formatFromName('a.csv')).toBeUndefined());
});

describe('globToRegExp (capture extraction)', () => {
  it.each([
    ['/d/{source}/*.jsonl', '/d/web/x.jsonl', 'web'],
    ['/d/**/{source}/*.jsonl', '/d/a/b/code/x.jsonl', 'code'],
    ['/d/{source}.{jsonl,json}', '/d/math.json', 'math'],
    ['/d/[ab]?/{source}_*', '/d/a1/web_0', 'web'],
    ['/d\\[x\\]/{source}/f', '/d[x]/news/f', 'news'],
  ])('%s on %s captures %s', (pattern, path, source) => {
    expect(globToRegExp(pattern).exec(path)?.[1]).toBe(source);
  });
});
