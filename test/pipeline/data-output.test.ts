/**
 * The curated data itself (config `output`, `--output-format`; SPEC §6): every kept record
 * written whole under DIR/data/, dropped ones under DIR/excluded/<stage>/<reason>/, each file
 * in the manifest with its hash, rows and tokens. Every file is read back with tokenmix's
 * own readers AND an independent one: the `gzip` and `zstd` commands, python3's json module,
 * and parquet-wasm (arrow-rs compiled to WebAssembly; not hyparquet) for Parquet. Expected
 * values come from the generators in data-corpus.ts (which records a threshold of 0.5 and exact dedup
 * drop is known by construction), never from the code under test.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetMetadataAsync } from 'hyparquet';
import { Field, Float64, Int64, List, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { TokenmixError } from '../../src/errors.js';
import { curate, type Manifest } from '../../src/pipeline/curate.js';
import { parseConfig } from '../../src/pipeline/config.js';
import { runArgs } from '../../src/cli/options.js';
import { main } from '../../src/cli/main.js';
import type { Backend } from '../../src/backend.js';
import { openTestGpu } from '../helpers/gpu.js';
import { CPU, readJsonl, snapshot, sum, tempDir, writeConfig } from './helpers.js';
import {
  hyparquetRows, independentParquet, jsonConfig, jsonRecord, keptIndex, RECORDS, resolved, tokenmixIds, WORDS, writeJsonCorpus, writeNestedParquet,
} from './data-corpus.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gpu = await openTestGpu();
const temp = tempDir('tokenmix-data-');
afterAll(() => {
  gpu.ctx?.destroy();
  temp.cleanup();
});

let counter = 0;
function fresh(name: string): string {
  const dir = join(temp.dir, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function runData(config: string, out: string, options: { outputFormat?: string; backend?: Backend; rank?: number; worldSize?: number; log?: (s: string) => void } = {}): Promise<Manifest> {
  const result = await curate({ configPath: config, outDir: out, backend: options.backend ?? CPU, ...options });
  if (result.status !== 'complete') throw new Error('expected a complete run');
  return result.manifest;
}


const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const dataFiles = (manifest: Manifest) => manifest.outputs.filter((o) => o.rows !== undefined);

describe('config: the output key and --output-format', () => {
  const base = { inputs: ['x.jsonl'] };
  it('defaults, canonical extra column order, and no data without the key', () => {
    expect(parseConfig(base).output).toBeNull();
    expect(parseConfig({ ...base, output: {} }).output).toEqual({ format: 'input', shard_bytes: null, extra_columns: [], dropped: false });
    expect(parseConfig({ ...base, output: { format: 'parquet', extra_columns: ['cluster', 'source'], shard_bytes: 1000, dropped: true } }).output).toEqual({
      format: 'parquet', shard_bytes: 1000, extra_columns: ['source', 'cluster'], dropped: true,
    });
  });
  it('bad values are one-line errors naming the key', () => {
    const bad: [unknown, RegExp][] = [
      [{ format: 'csv' }, /"output.format" must be one of input, jsonl, jsonl.gz, jsonl.zst, parquet \(got "csv"\)/],
      [{ shard_bytes: 0 }, /"output.shard_bytes" must be a positive integer/],
      [{ extra_columns: ['score'] }, /"output.extra_columns" must be a list of source, tokens, quality, cluster \(got "score"\)/],
      [{ dropped: 'yes' }, /"output.dropped" must be true or false/],
      [{ formt: 'jsonl' }, /unknown key "output.formt"/],
    ];
    for (const [output, message] of bad) {
      expect(() => parseConfig({ ...base, output })).toThrow(TokenmixError);
      expect(() => parseConfig({ ...base, output })).toThrow(message);
    }
  });
  it('--output-format is checked before anything runs', () => {
    expect(runArgs('curate', { config: 'c.json', out: 'o', 'output-format': 'parquet' }).outputFormat).toBe('parquet');
    expect(() => runArgs('curate', { config: 'c.json', out: 'o', 'output-format': 'xml' })).toThrow(/--output-format must be one of/);
  });
});

describe('the CLI flag', () => {
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t), interactive: false });
    return { code, out, err };
  };
  it('curate --output-format parquet writes Parquet data; a bad format is one line, exit 2, before any work', async () => {
    const dir = fresh('cli');
    writeJsonCorpus(dir);
    const config = jsonConfig(dir);
    const out = fresh('cli-out');
    const ok = await cli(['curate', '--config', config, '--out', out, '--backend', 'cpu', '--no-report', '--output-format', 'parquet']);
    expect(ok.code).toBe(0);
    expect(independentParquet(join(out, 'data', '00002-c.parquet')).rows.map((r) => r.id)).toEqual(Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => `j2-${i}`));
    const empty = fresh('cli-bad');
    const bad = await cli(['curate', '--config', config, '--out', empty, '--backend', 'cpu', '--output-format', 'csv']);
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual(['tokenmix: --output-format must be one of input, jsonl, jsonl.gz, jsonl.zst, parquet (got "csv")']);
    expect(existsSync(join(empty, '.tokenmix'))).toBe(false);
  });
});

describe('JSONL inputs', () => {
  let dir: string;
  beforeAll(() => {
    dir = fresh('json');
    writeJsonCorpus(dir);
  });

  it('format "input": each shard in its own format, every kept line written back as it was', async () => {
    const out = fresh('json-input');
    const manifest = await runData(jsonConfig(dir, {}), out);
    const files = dataFiles(manifest).map((f) => f.path);
    expect(files).toEqual(['data/00000-a.jsonl', 'data/00001-b.jsonl.gz', 'data/00002-c.jsonl.zst']);
    const decompress: [string, string[]][] = [['cat', []], ['gzip', ['-dc']], ['zstd', ['-dc', '-q']]];
    for (const [shard, path] of files.entries()) {
      const [tool, args] = decompress[shard];
      const text = execFileSync(tool, [...args, join(out, path)], { encoding: 'utf8' });
      const expected = Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => `${jsonRecord(shard, i).line}\n`).join('');
      expect(text).toBe(expected);
      // tokenmix's own reader, on the compressed file
      const compression = (['none', 'gzip', 'zstd'] as const)[shard];
      expect(await tokenmixIds(resolved(join(out, path), 'jsonl', compression))).toEqual(Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => `j${shard}-${i}`));
    }
    // python3's json module: every line parses, the big integer is still exact.
    const python = execFileSync('python3', ['-c', 'import json,sys\nfor l in open(sys.argv[1]): r=json.loads(l); print(r["id"], r.get("big"))', join(out, files[0])], { encoding: 'utf8' });
    expect(python.trim().split('\n')).toEqual(Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => `j0-${i} ${i % 2 === 0 ? '12345678901234567890' : 'None'}`));
  });

  it('rows, tokens, bytes and hashes in the manifest match the files and the totals', async () => {
    const out = fresh('json-manifest');
    const manifest = await runData(jsonConfig(dir, { format: 'jsonl', dropped: true }), out);
    const files = dataFiles(manifest);
    for (const file of files) {
      expect(file.sha256).toBe(sha256(join(out, file.path)));
      expect(file.bytes).toBe(readFileSync(join(out, file.path)).length);
      expect(file.rows).toBe(readJsonl(join(out, file.path)).length);
    }
    const kept = files.filter((f) => f.path.startsWith('data/'));
    expect(sum(kept.map((f) => f.rows!))).toBe(manifest.totals.kept);
    expect(sum(kept.map((f) => f.tokens!))).toBe(manifest.totals_tokens.kept);
    const expectedKeptTokens = sum([0, 1, 2].flatMap((s) => Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => jsonRecord(s, i).words)));
    expect(manifest.totals_tokens.kept).toBe(expectedKeptTokens);
    // Dropped records grouped by stage and reason, exactly the ones the construction drops.
    const excluded = (stage: string, reason: string) => files.filter((f) => f.path.startsWith(`excluded/${stage}/${reason}/`)).flatMap((f) => readJsonl(join(out, f.path)).map((r) => r.id));
    const ids = (pick: (i: number) => boolean) => [0, 1, 2].flatMap((s) => Array.from({ length: RECORDS }, (_, i) => i).filter(pick).map((i) => `j${s}-${i}`));
    expect(excluded('quality', 'below_threshold')).toEqual(ids((i) => i % 4 === 0));
    expect(excluded('exact_dedup', 'duplicate')).toEqual(ids((i) => i % 4 !== 0 && i % 10 === 5));
    expect(sum(files.filter((f) => f.path.startsWith('excluded/')).map((f) => f.rows!))).toBe(sum(Object.values(manifest.totals.dropped)));
    // The quarantined line is in no data file.
    expect(files.flatMap((f) => readJsonl(join(out, f.path)).map((r) => r.id))).not.toContain('bad');
  });

  it('extra columns are added before the closing brace, the rest of the line untouched', async () => {
    const out = fresh('json-extra');
    await runData(jsonConfig(dir, { format: 'jsonl', extra_columns: ['source', 'tokens', 'quality', 'cluster'] }), out);
    const lines = readFileSync(join(out, 'data', '00000-a.jsonl'), 'utf8').trim().split('\n');
    const expected = Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => {
      const { line, object, words } = jsonRecord(0, i);
      return `${line.slice(0, -1)},"tokenmix_source":"web","tokenmix_tokens":${words},"tokenmix_quality":${object.quality as number},"tokenmix_cluster":null}`;
    });
    expect(lines).toEqual(expected);
  });

  it('as Parquet: one inferred schema; every column value read back by parquet-wasm and hyparquet', async () => {
    const out = fresh('json-parquet');
    const manifest = await runData(jsonConfig(dir, { extra_columns: ['source', 'tokens'], dropped: true }), out, { outputFormat: 'parquet' });
    expect(manifest.config.output?.format).toBe('parquet');
    const path = join(out, 'data', '00001-b.parquet');
    const { rows, types } = independentParquet(path);
    expect(types).toEqual({
      id: 'Utf8', text: 'Utf8', source: 'Utf8', quality: 'Float64', meta: 'Utf8', big: 'Float64', flag: 'Bool', tokenmix_source: 'Utf8', tokenmix_tokens: 'Int64',
    });
    const kept = Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => jsonRecord(1, i));
    expect(rows.length).toBe(kept.length);
    rows.forEach((row, k) => {
      const { object, words } = kept[k];
      expect(row.id).toBe(object.id);
      expect(row.text).toBe(object.text);
      expect(row.source).toBe('web');
      expect(row.quality).toBe(object.quality);
      // Nested values are a JSON column: the same value, as JSON text.
      expect(row.meta === null ? null : JSON.parse(row.meta as string)).toEqual(object.meta ?? null);
      expect(row.big).toBe(object.big ?? null);
      expect(row.flag).toBe(object.flag ?? null);
      expect(row.tokenmix_source).toBe('web');
      expect(Number(row.tokenmix_tokens)).toBe(words);
    });
    expect(await tokenmixIds(resolved(path, 'parquet'))).toEqual(kept.map(({ object }) => object.id));
    const ours = await hyparquetRows(path);
    expect(ours.map((r) => [r.id, r.text, r.meta ?? null])).toEqual(kept.map(({ object }) => [object.id, object.text, object.meta ?? null]));
    // Excluded records of JSONL inputs share the schema.
    expect(independentParquet(join(out, 'excluded', 'quality', 'below_threshold', '00001-b.parquet')).types).toEqual(types);
  });

  it('shard_bytes: parts of at most that many record bytes, together the same records in order', async () => {
    const out = fresh('json-parts');
    const manifest = await runData(jsonConfig(dir, { format: 'jsonl.zst', shard_bytes: 1500 }), out);
    const parts = dataFiles(manifest);
    expect(parts.map((p) => p.path)).toEqual(parts.map((_, k) => `data/part-${String(k).padStart(5, '0')}.jsonl.zst`));
    const texts = parts.map((p) => execFileSync('zstd', ['-dc', '-q', join(out, p.path)], { encoding: 'utf8' }));
    for (const text of texts) expect(Buffer.byteLength(text) <= 1500 || text.trim().split('\n').length === 1).toBe(true);
    const expected = [0, 1, 2].flatMap((s) => Array.from({ length: RECORDS }, (_, i) => i).filter(keptIndex).map((i) => `${jsonRecord(s, i).line}\n`)).join('');
    expect(texts.join('')).toBe(expected);
    expect(parts.length).toBeGreaterThan(3);
  });

  it('--output-format gives the same bytes as the same format in the config', async () => {
    const viaConfig = fresh('json-fmt-config');
    const viaFlag = fresh('json-fmt-flag');
    await runData(jsonConfig(dir, { format: 'jsonl.gz' }), viaConfig);
    await runData(jsonConfig(dir), viaFlag, { outputFormat: 'jsonl.gz' });
    expect(snapshot(viaFlag)).toEqual(snapshot(viaConfig));
  });

  it('an extra column that the records already have is a one-line error naming file, line and field', async () => {
    const clash = fresh('json-clash');
    writeFileSync(join(clash, 'a.jsonl'), '{"id":"x","source":"web","text":"one two","quality":0.9}\n{"id":"y","source":"web","text":"three","quality":0.9,"tokenmix_tokens":1}\n');
    writeFileSync(join(clash, 'b.jsonl.gz'), gzipSync(''));
    writeFileSync(join(clash, 'c.jsonl.zst'), execFileSync('zstd', ['-q', '-c'], { input: '' }));
    const config = jsonConfig(clash, { format: 'jsonl', extra_columns: ['tokens'] });
    await expect(runData(config, fresh('json-clash-out'))).rejects.toThrow('tokenmix: a.jsonl:2: field "tokenmix_tokens" already exists; remove it from output.extra_columns or rename that field');
    await expect(runData(config, fresh('json-clash-out'), { outputFormat: 'parquet' })).rejects.toThrow('tokenmix: the JSONL inputs: column "tokenmix_tokens" already exists');
  });

  it('changing only the output format reuses the map phase', async () => {
    const out = fresh('json-reformat');
    const config = jsonConfig(dir, { format: 'jsonl' });
    await runData(config, out);
    const messages: string[] = [];
    const manifest = await runData(config, out, { outputFormat: 'jsonl.gz', log: (m) => messages.push(m) });
    expect(messages).toContain('tokenmix: 3 of 3 work units already complete, skipping them');
    expect(dataFiles(manifest).map((f) => f.path)).toEqual(['data/00000-a.jsonl.gz', 'data/00001-b.jsonl.gz', 'data/00002-c.jsonl.gz']);
    expect(existsSync(join(out, 'data', '00000-a.jsonl'))).toBe(false);
  });
});

describe('Parquet and Arrow inputs', () => {
  let dir: string;
  const COUNT = 50;
  const keptRow = (i: number) => i % 4 !== 0;
  const arrowRecords = Array.from({ length: COUNT }, (_, i) => ({ id: `a-${i}`, text: `${WORDS.slice(2, 4 + (i % 6)).join(' ')} a${i}`, quality: i % 4 === 0 ? 0.1 : 0.75 + i / 1000, n: BigInt(i) << 40n, meta: { lang: i % 2 ? 'en' : 'fr', pos: i }, tags: Array.from({ length: i % 3 }, (_, k) => `t${k}`) }));
  beforeAll(async () => {
    dir = fresh('columnar');
    writeNestedParquet(join(dir, 'nested.parquet'), COUNT);
    const records = arrowRecords;
    const table = new Table({
      id: vectorFromArray(records.map((r) => r.id), new Utf8()),
      text: vectorFromArray(records.map((r) => r.text), new Utf8()),
      quality: vectorFromArray(records.map((r) => r.quality), new Float64()),
      n: vectorFromArray(records.map((r) => r.n), new Int64()),
      meta: vectorFromArray(records.map((r) => r.meta)),
      tags: vectorFromArray(records.map((r) => r.tags), new List(new Field('item', new Utf8(), true))),
    });
    writeFileSync(join(dir, 'flat.arrow'), tableToIPC(table, 'file'));
  });
  const config = (output: unknown) =>
    writeConfig(dir, {
      inputs: [{ path: 'nested.parquet', source: 'code' }, { path: 'flat.arrow', source: 'web' }],
      fields: { source: null, quality: 'quality' },
      filters: { quality: { field: 'quality', thresholds: { code: 0.5, web: 0.5 } } },
      output,
    });

  it('Parquet → Parquet keeps the schema (nested, logical types) and every value, per parquet-wasm', async () => {
    const out = fresh('columnar-parquet');
    await runData(config({ format: 'input', extra_columns: ['source'] }), out);
    const input = independentParquet(join(dir, 'nested.parquet'));
    const output = independentParquet(join(out, 'data', '00000-nested.parquet'));
    expect(output.types).toEqual({ ...input.types, tokenmix_source: 'Utf8' });
    expect(output.rows).toEqual(input.rows.filter((_, i) => keptRow(i)).map((row) => ({ ...row, tokenmix_source: 'code' })));
    // hyparquet sees the same values, and the same flattened schema plus the extra column.
    const source = await hyparquetRows(join(dir, 'nested.parquet'));
    expect((await hyparquetRows(join(out, 'data', '00000-nested.parquet'))).map(({ tokenmix_source, ...rest }) => [rest, tokenmix_source])).toEqual(
      source.filter((_, i) => keptRow(i)).map((row) => [row, 'code']),
    );
    const bytes = readFileSync(join(out, 'data', '00000-nested.parquet'));
    const metadata = await parquetMetadataAsync(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    expect(metadata.row_groups[0].columns[0].meta_data?.codec).toBe('ZSTD');
  });

  it('Arrow → Parquet maps the column types; Arrow and Parquet → JSONL write every column as JSON', async () => {
    const out = fresh('columnar-jsonl');
    await runData(config({ format: 'parquet' }), out);
    const arrow = independentParquet(join(out, 'data', '00001-flat.parquet'));
    expect(arrow.types).toEqual({ id: 'Utf8', text: 'Utf8', quality: 'Float64', n: 'Int64', meta: 'Utf8', tags: 'Utf8' });
    // Structs and lists are JSON columns: the same value as JSON text.
    expect(arrow.rows.map((r) => ({ ...r, meta: JSON.parse(r.meta as string), tags: JSON.parse(r.tags as string) }))).toEqual(arrowRecords.filter((_, i) => keptRow(i)));
    expect(await tokenmixIds(resolved(join(out, 'data', '00001-flat.parquet'), 'parquet', 'none', 'web'))).toEqual(arrowRecords.filter((_, i) => keptRow(i)).map((r) => r.id));

    const jsonOut = fresh('columnar-jsonl');
    await runData(config({ format: 'jsonl' }), jsonOut);
    const lines = readJsonl(join(jsonOut, 'data', '00000-nested.jsonl'));
    expect(lines).toEqual(
      Array.from({ length: COUNT }, (_, i) => i).filter(keptRow).map((i) => ({
        id: `p-${i}`,
        text: `${WORDS.slice(0, 3 + (i % 5)).join(' ')} p${i}`,
        quality: 0.75,
        // 64-bit integers beyond 2^53 become decimal strings; dates and timestamps ISO 8601.
        count: i * 1_000_000_000_000 <= Number.MAX_SAFE_INTEGER ? i * 1_000_000_000_000 : String(BigInt(i) * 1_000_000_000_000n),
        day: new Date((19000 + i) * 86_400_000).toISOString(),
        at: new Date(1_700_000_000_000 + i).toISOString(),
        meta: i % 3 === 0 ? null : { lang: i % 2 ? 'en' : 'de', score: i / 8 },
        tags: i % 5 === 0 ? [] : Array.from({ length: i % 3 + 1 }, (_, k) => `t${k}`),
      })),
    );
    const arrowLines = readJsonl(join(jsonOut, 'data', '00001-flat.jsonl'));
    expect(arrowLines).toEqual(arrowRecords.filter((_, i) => keptRow(i)).map((r) => ({ ...r, n: Number(r.n) })));
  });
});

describe('byte-identical for any backend, world size and after kill/resume', () => {
  let dir: string;
  let reference: Record<string, string>;
  const output = { format: 'parquet', extra_columns: ['source', 'tokens', 'quality', 'cluster'], dropped: true, shard_bytes: 4000 };
  beforeAll(async () => {
    dir = fresh('same');
    writeJsonCorpus(dir);
    writeNestedParquet(join(dir, 'nested.parquet'), 60);
    writeConfig(dir, {
      inputs: ['a.jsonl', 'b.jsonl.gz', { path: 'nested.parquet', source: 'web' }, 'c.jsonl.zst'],
      fields: { quality: 'quality' },
      filters: { quality: { field: 'quality', thresholds: { web: 0.5 } } },
      dedup: { exact: true, near: { threshold: 0.7 } },
      on_error: 'quarantine',
      output,
    });
    await runData(join(dir, 'curate.json'), join(dir, 'reference'));
    reference = snapshot(join(dir, 'reference'));
    expect(Object.keys(reference).filter((p) => p.startsWith('data/')).length).toBeGreaterThan(3);
  });

  it('extra columns: the near-dedup cluster of clusters.jsonl, the record\'s source, tokens and score', async () => {
    const out = join(dir, 'reference');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    const clusters = new Map(readJsonl<{ id: string; cluster: number; kept: boolean }>(join(out, 'clusters.jsonl')).map((c) => [c.id, c]));
    expect([...clusters.values()].some((c) => !c.kept)).toBe(true);
    const rows = dataFiles(manifest).filter((f) => f.path.startsWith('data/')).flatMap((f) => independentParquet(join(out, f.path)).rows);
    expect(rows.length).toBe(manifest.totals.kept);
    for (const row of rows) {
      const cluster = clusters.get(row.id as string);
      expect(row.tokenmix_cluster === null ? null : Number(row.tokenmix_cluster)).toBe(cluster ? cluster.cluster : null);
      if (cluster) expect(cluster.kept).toBe(true);
      expect(row.tokenmix_source).toBe(row.source ?? 'web');
      expect(row.tokenmix_quality).toBe(row.quality);
    }
    expect(rows.filter((r) => r.tokenmix_cluster !== null).length).toBe([...clusters.values()].filter((c) => c.kept).length);
    const nearDropped = dataFiles(manifest).filter((f) => f.path.startsWith('excluded/near_dedup/')).flatMap((f) => independentParquet(join(out, f.path)).rows);
    expect(nearDropped.map((r) => r.id).sort()).toEqual([...clusters.values()].filter((c) => !c.kept).map((c) => c.id).sort());
  });

  it('--world-size 2 (ranks in turn) writes the same bytes', async () => {
    const out = fresh('same-ws2');
    expect((await curate({ configPath: join(dir, 'curate.json'), outDir: out, backend: CPU, rank: 1, worldSize: 2 })).status).toBe('partial');
    await runData(join(dir, 'curate.json'), out, { rank: 0, worldSize: 2 });
    expect(snapshot(out)).toEqual(reference);
  });

  it.skipIf(!gpu.ctx)(`GPU backend writes the same bytes (${gpu.label})`, async () => {
    const out = fresh('same-gpu');
    await runData(join(dir, 'curate.json'), out, { backend: { kind: 'gpu', ctx: gpu.ctx! } });
    expect(snapshot(out)).toEqual(reference);
  });

  it('killed while data files are being written, then rerun: the same bytes', async () => {
    const out = fresh('same-kill');
    const entry = join(root, 'test', 'pipeline', 'cli-entry.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'curate', '--config', join(dir, 'curate.json'), '--out', out, '--backend', 'cpu', '--no-report'], { cwd: root, stdio: 'ignore' });
    let killed = false;
    const poll = setInterval(() => {
      // data/ exists from the first data file being opened until the run ends.
      if (existsSync(join(out, 'data')) && child.exitCode === null && !killed) killed = child.kill('SIGKILL');
    }, 1);
    await new Promise((resolve) => child.on('close', resolve));
    clearInterval(poll);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    await runData(join(dir, 'curate.json'), out);
    expect(snapshot(out)).toEqual(reference);
    expect(killed).toBe(true);
  }, 60_000);
});
