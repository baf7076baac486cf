/**
 * Bad input through the CLI (SPEC §7): with `on_error: "fail"` every case exits 2 with one
 * `tokenmix:` line naming the file, the line (`FILE:N`) or row (`row N`) and the field, and
 * no stack trace; with `on_error: "quarantine"` a bad record is set aside in quarantine.jsonl,
 * counted in the manifest, and the totals still add up. Whole-file and config problems fail
 * in both modes. Runs `main()` in-process with captured output (fast, no build needed).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticRecords, writeParquet, type SyntheticRecord } from '../../fixtures/io/generate.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import type { Manifest } from '../../src/pipeline/curate.js';
import { readJsonl, sum, tempDir, writeConfig } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());
let counter = 0;
function fresh(name: string): string {
  const dir = join(temp.dir, `${name.replace(/[^a-z0-9]+/gi, '-')}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

async function cli(args: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), interactive: false };
  const code = await main(args, io);
  return { code, out, err: err.join('\n').split('\n').filter((l) => l.length > 0) };
}

/** One line, `tokenmix:` prefix, no stack trace. */
function expectOneLineError(result: Captured): string {
  expect(result.code).toBe(2);
  expect(result.err).toHaveLength(1);
  const [line] = result.err;
  expect(line.startsWith('tokenmix:')).toBe(true);
  expect(line).not.toMatch(/^\s+at /m);
  expect(line).not.toMatch(/\n/);
  return line;
}

const line = (r: object) => `${JSON.stringify(r)}\n`;
const good = (id: string, extra: object = {}) => line({ id, source: 'web', text: `a valid document called ${id}`, quality: 0.5, ...extra });
const GOOD_FILE = good('g1') + good('g2') + good('g3');
const records = (count: number, edit: (r: SyntheticRecord, i: number) => SyntheticRecord): SyntheticRecord[] =>
  [...syntheticRecords({ seed: 5, count, idPrefix: 'p' })].map(edit);

interface RecordCase {
  name: string;
  /** Files besides good.jsonl (which always comes first in the inputs). */
  files: Record<string, string | Buffer | ((path: string) => Promise<void>)>;
  /** Expected in the message: the location (`bad.jsonl:3` or `bad.parquet row 2`) and field. */
  where: string;
  field: string | null;
  reason: string;
}

const RECORD_CASES: RecordCase[] = [
  { name: 'malformed JSON line', files: { 'bad.jsonl': good('b1') + good('b2') + '{"id": "b3", "source": "web", "text": "cut", "quality": 0.\n' }, where: 'bad.jsonl:3', field: null, reason: 'malformed-json' },
  { name: 'missing text field', files: { 'bad.jsonl': good('b1') + line({ id: 'b2', source: 'web', quality: 0.5 }) }, where: 'bad.jsonl:2', field: 'text', reason: 'missing-field' },
  { name: 'id of the wrong type', files: { 'bad.jsonl': good('b1') + good('b2') + line({ id: 17, source: 'web', text: 'x y z', quality: 0.5 }) }, where: 'bad.jsonl:3', field: 'id', reason: 'wrong-type' },
  { name: 'score given as a string', files: { 'bad.jsonl': good('b1', { quality: '0.5' }) }, where: 'bad.jsonl:1', field: 'quality', reason: 'wrong-type' },
  {
    name: 'invalid UTF-8 in the text',
    files: { 'bad.jsonl': Buffer.concat([Buffer.from(good('b1') + '{"id": "b2", "source": "web", "quality": 0.5, "text": "caf'), Buffer.from([0xe9, 0xff]), Buffer.from('"}\n')]) },
    // The JSONL reader decodes whole lines, so it names the line, not the field.
    where: 'bad.jsonl:2', field: null, reason: 'invalid-utf8',
  },
  { name: 'empty text', files: { 'bad.jsonl': good('b1') + good('b2', { text: '   ' }) }, where: 'bad.jsonl:2', field: 'text', reason: 'empty-text' },
  { name: 'missing score', files: { 'bad.jsonl': good('b1') + line({ id: 'b2', source: 'web', text: 'no score here' }) }, where: 'bad.jsonl:2', field: 'quality', reason: 'missing-field' },
  { name: 'infinite score (1e999) in JSONL', files: { 'bad.jsonl': good('b1') + '{"id": "b2", "source": "web", "text": "big", "quality": 1e999}\n' }, where: 'bad.jsonl:2', field: 'quality', reason: 'nan-score' },
  {
    name: 'NaN score in Parquet',
    files: { 'bad.parquet': (path) => writeParquet(path, records(5, (r, i) => (i === 2 ? { ...r, quality: NaN } : r))) },
    where: 'bad.parquet row 2', field: 'quality', reason: 'nan-score',
  },
  { name: 'duplicate id across files', files: { 'bad.jsonl': good('b1') + good('b2') + good('g2') }, where: 'bad.jsonl:3', field: 'id', reason: 'duplicate-id' },
  {
    name: 'duplicate id in Parquet',
    files: { 'bad.parquet': (path) => writeParquet(path, records(5, (r, i) => (i === 3 ? { ...r, id: 'g1' } : r))) },
    where: 'bad.parquet row 3', field: 'id', reason: 'duplicate-id',
  },
];

async function setup(name: string, files: RecordCase['files'], onError: string, extra: object = {}): Promise<{ config: string; out: string }> {
  const dir = fresh(name);
  writeFileSync(join(dir, 'good.jsonl'), GOOD_FILE);
  for (const [file, content] of Object.entries(files)) {
    if (typeof content === 'function') await content(join(dir, file));
    else writeFileSync(join(dir, file), content);
  }
  const config = writeConfig(dir, {
    inputs: ['good.jsonl', ...Object.keys(files)],
    fields: { quality: 'quality' },
    filters: { quality: { field: 'quality', thresholds: { web: 0.1 } } },
    dedup: { exact: true },
    on_error: onError,
    ...extra,
  });
  return { config, out: join(dir, 'out') };
}

const curateArgs = (config: string, out: string) => ['curate', '--config', config, '--out', out, '--backend', 'cpu'];

describe('bad records with on_error "fail": exit 2, one line naming file, line/row and field', () => {
  it.each(RECORD_CASES)('$name', async ({ name, files, where, field }) => {
    const { config, out } = await setup(name, files, 'fail');
    const message = expectOneLineError(await cli(curateArgs(config, out)));
    expect(message).toContain(`${where}:`);
    if (field) expect(message).toContain(`"${field}"`);
    expect(message).toContain('quarantine'); // says how to proceed
  });
});

describe('bad records with on_error "quarantine": set aside, counted, totals add up', () => {
  it.each(RECORD_CASES)('$name', async ({ name, files, where, field, reason }) => {
    const { config, out } = await setup(name, files, 'quarantine');
    const result = await cli(curateArgs(config, out));
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    const quarantined = readJsonl<Record<string, unknown>>(join(out, 'quarantine.jsonl'));
    expect(quarantined).toHaveLength(1);
    const [entry] = quarantined;
    const [file, position] = where.includes(' row ') ? where.split(' row ') : where.split(':');
    expect(entry.file).toBe(file);
    expect(entry[where.includes(' row ') ? 'row' : 'line']).toBe(Number(position));
    expect(entry.reason).toBe(reason);
    if (field) expect(entry.field).toBe(field);
    expect(String(entry.message)).toContain(where);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.totals.quarantined).toBe(1);
    expect(manifest.quarantine).toEqual({ [reason]: 1 });
    const { totals, totals_tokens: tokens } = manifest;
    expect(totals.kept + sum(Object.values(totals.dropped)) + totals.quarantined).toBe(totals.input);
    expect(tokens.kept + sum(Object.values(tokens.dropped)) + tokens.quarantined).toBe(tokens.input);
    expect(tokens.quarantined).toBe(0);
    expect(totals.input).toBe(sum(manifest.inputs.map((i) => i.records + i.problems)));
    expect(manifest.outputs.map((o) => o.path)).toContain('quarantine.jsonl');
  });
});

const truncated = (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2));

interface FailCase {
  name: string;
  files: RecordCase['files'];
  extra?: object;
  /** Substrings the single error line must hold. */
  expected: string[];
}

/** Damaged files: exit 2 under on_error "fail"; set aside whole under "quarantine". */
const DAMAGED_CASES: FailCase[] = [
  { name: 'truncated gzip', files: { 'bad.jsonl.gz': truncated(gzipSync(Buffer.from(GOOD_FILE.repeat(50).replace(/g(\d)/g, 'z$1')))) }, expected: ['bad.jsonl.gz', 'gzip'] },
  { name: 'text named .zst', files: { 'bad.jsonl.zst': good('z1') }, expected: ['bad.jsonl.zst', 'zstd'] },
  {
    name: 'truncated Parquet',
    files: {
      'bad.parquet': async (path) => {
        await writeParquet(path, records(50, (r) => r));
        writeFileSync(path, truncated(readFileSync(path)));
      },
    },
    expected: ['bad.parquet', 'Parquet'],
  },
];

const FAIL_CASES: FailCase[] = [
  { name: 'unknown source in thresholds', files: {}, extra: { filters: { quality: { field: 'quality', thresholds: { web: 0.1, wbe: 0.5 } } } }, expected: ['filters.quality.thresholds', '"wbe"'] },
  { name: 'unknown source in top_fraction', files: {}, extra: { filters: { quality: { field: 'quality', top_fraction: { cod: 0.5 } } } }, expected: ['filters.quality.top_fraction', '"cod"'] },
  { name: 'an input path that matches nothing', files: {}, extra: { inputs: ['good.jsonl', 'nothing/*.jsonl'] }, expected: ['"nothing/*.jsonl"', 'matches no file'] },
  { name: 'a missing input file', files: {}, extra: { inputs: ['good.jsonl', 'gone.jsonl'] }, expected: ['"gone.jsonl"', 'matches no file'] },
];

describe('unreadable files and config problems fail in both modes', () => {
  for (const onError of ['fail', 'quarantine']) {
    it.each(FAIL_CASES)(`$name (on_error ${onError})`, async ({ name, files, extra, expected }) => {
      const { config, out } = await setup(name, files, onError, extra);
      const message = expectOneLineError(await cli(curateArgs(config, out)));
      for (const text of expected) expect(message).toContain(text);
    });
  }
});

describe('damaged files: one line in fail mode, the whole file quarantined and counted otherwise', () => {
  it.each(DAMAGED_CASES)('$name (on_error fail)', async ({ name, files, extra, expected }) => {
    const { config, out } = await setup(name, files, 'fail', extra);
    const message = expectOneLineError(await cli(curateArgs(config, out)));
    for (const text of expected) expect(message).toContain(text);
  });
  it.each(DAMAGED_CASES)('$name (on_error quarantine)', async ({ name, files, extra, expected }) => {
    const { config, out } = await setup(name, files, 'quarantine', extra);
    const result = await cli(curateArgs(config, out));
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    const [entry, ...more] = readJsonl<Record<string, unknown>>(join(out, 'quarantine.jsonl'));
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ file: expected[0], field: '(file)', reason: 'unreadable-file' });
    for (const text of expected) expect(String(entry.message)).toContain(text);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    // good.jsonl's three records pass; the damaged file is one quarantined entry.
    expect(manifest.totals).toMatchObject({ input: 4, kept: 3, quarantined: 1 });
    expect(manifest.quarantine).toEqual({ 'unreadable-file': 1 });
  });
});

describe('config and usage errors', () => {
  const cases: { name: string; config: object; expected: string[] }[] = [
    { name: 'unknown top-level key', config: { inputs: ['good.jsonl'], filtres: {} }, expected: ['unknown key', '"filtres"'] },
    { name: 'unknown nested key', config: { inputs: ['good.jsonl'], dedup: { exact: true, kep: 'first' } }, expected: ['unknown key', '"dedup.kep"'] },
    { name: 'seed of the wrong type', config: { inputs: ['good.jsonl'], seed: 'seven' }, expected: ['"seed"', 'integer', '"seven"'] },
    { name: 'dedup.exact of the wrong type', config: { inputs: ['good.jsonl'], dedup: { exact: 'yes' } }, expected: ['"dedup.exact"', 'true or false'] },
    { name: 'threshold of the wrong type', config: { inputs: ['good.jsonl'], filters: { quality: { field: 'quality', thresholds: { web: 'high' } } } }, expected: ['"filters.quality.thresholds.web"'] },
    { name: 'bad on_error', config: { inputs: ['good.jsonl'], on_error: 'skip' }, expected: ['"on_error"', '"quarantine"'] },
  ];
  it.each(cases)('$name names the key', async ({ name, config, expected }) => {
    const dir = fresh(name);
    writeFileSync(join(dir, 'good.jsonl'), GOOD_FILE);
    const path = writeConfig(dir, config);
    const message = expectOneLineError(await cli(curateArgs(path, join(dir, 'out'))));
    expect(message).toContain('curate.json');
    for (const text of expected) expect(message).toContain(text);
  });

  it('a config file that is not JSON names the file', async () => {
    const dir = fresh('not-json');
    writeFileSync(join(dir, 'curate.json'), '{ "inputs": [ }');
    const message = expectOneLineError(await cli(curateArgs(join(dir, 'curate.json'), join(dir, 'out'))));
    expect(message).toContain('curate.json');
    expect(message).toContain('not valid JSON');
  });

  it('a missing config file names the file', async () => {
    const message = expectOneLineError(await cli(curateArgs(join(temp.dir, 'absent.json'), join(temp.dir, 'out'))));
    expect(message).toContain('absent.json');
  });

  it('an --out that is a file names it', async () => {
    const dir = fresh('out-file');
    writeFileSync(join(dir, 'good.jsonl'), GOOD_FILE);
    writeFileSync(join(dir, 'taken'), 'not a directory');
    const message = expectOneLineError(await cli(curateArgs(writeConfig(dir, { inputs: ['good.jsonl'] }), join(dir, 'taken'))));
    expect(message).toContain(join(dir, 'taken'));
    expect(message).toContain('--out');
  });

  it('a missing --config is a usage error (exit 2)', async () => {
    const message = expectOneLineError(await cli(['curate', '--out', join(temp.dir, 'out')]));
    expect(message).toContain('--config');
  });

  it('a missing --out is a usage error (exit 2)', async () => {
    const message = expectOneLineError(await cli(['curate', '--config', join(temp.dir, 'x.json')]));
    expect(message).toContain('--out');
  });

  it.each([
    ['an unknown option', ['--bogus'], '--bogus'],
    ['a bad --world-size', ['--world-size', '0'], '--world-size'],
    ['a --rank outside the world', ['--rank', '3', '--world-size', '2'], '--rank'],
    ['a bad --backend', ['--backend', 'tpu'], '--backend'],
  ])('%s is a usage error (exit 2)', async (_name, extra, expected) => {
    const dir = fresh('usage');
    writeFileSync(join(dir, 'good.jsonl'), GOOD_FILE);
    const config = writeConfig(dir, { inputs: ['good.jsonl'] });
    // No --backend cpu here: usage errors must come before the GPU is opened (and say nothing else).
    const message = expectOneLineError(await cli(['curate', '--config', config, '--out', join(dir, 'out'), ...extra]));
    expect(message).toContain(expected);
  });
});
