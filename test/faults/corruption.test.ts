/**
 * Seeded fault injection into every input format (issue 11 item 1): byte flips, truncations
 * and appended garbage, hundreds of cases through the readers (many per process, so the
 * suite stays fast), and a representative subset through the CLI. Each case must end in
 * one of two ways:
 * - a `TokenmixError` (one line, `tokenmix:` prefix, naming the file), or
 * - a read whose accounting is complete: for checksummed formats (gzip, zstd with checksum)
 *   exactly the original records; for JSONL without checksum every line of the damaged bytes
 *   is a record, a problem or blank; for Parquet and Arrow the row count of the original.
 * Never a raw library error, never records that vanish without a trace.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasZstdCli, syntheticRecords, writeArrow, writeJsonl, writeParquet } from '../../fixtures/io/generate.js';
import { TokenmixError } from '../../src/errors.js';
import { readRecords, type ResolvedInput } from '../../src/io/index.js';
import { cli, expectCleanFailure, expectSuccess, spawnCli, tempDir } from './cli.js';

const RECORDS = 300;
const CASES_PER_FORMAT = 40;
const temp = tempDir();
afterAll(() => temp.cleanup());

interface Format {
  name: string;
  file: string;
  format: ResolvedInput['format'];
  /** What a successful read of damaged bytes must satisfy. */
  check: 'checksum' | 'lines' | 'rows';
  write: (path: string) => Promise<void>;
}

const records = () => syntheticRecords({ seed: 11, count: RECORDS, meanWords: 12 });
const FORMATS: Format[] = [
  { name: 'jsonl', file: 'base.jsonl', format: 'jsonl', check: 'lines', write: (p) => writeJsonl(p, records()) },
  { name: 'jsonl.gz', file: 'base.jsonl.gz', format: 'jsonl', check: 'checksum', write: (p) => writeJsonl(p, records(), { compression: 'gzip' }) },
  // Raw (stored) zstd frames carry no checksum: damage shows as damaged lines, as in plain JSONL.
  { name: 'jsonl.zst (raw frames)', file: 'raw.jsonl.zst', format: 'jsonl', check: 'lines', write: (p) => writeJsonl(p, records(), { compression: 'zstd', zstd: 'raw' }) },
  ...(hasZstdCli()
    ? [{ name: 'jsonl.zst (zstd -3, checksum)', file: 'cli.jsonl.zst', format: 'jsonl' as const, check: 'checksum' as const, write: (p: string) => writeJsonl(p, records(), { compression: 'zstd', zstd: 'cli' }) }]
    : []),
  { name: 'parquet (uncompressed)', file: 'plain.parquet', format: 'parquet', check: 'rows', write: (p) => writeParquet(p, records(), { rowGroupRows: 100, codec: 'UNCOMPRESSED' }) },
  { name: 'parquet (snappy)', file: 'snappy.parquet', format: 'parquet', check: 'rows', write: (p) => writeParquet(p, records(), { rowGroupRows: 100, codec: 'SNAPPY' }) },
  { name: 'arrow file', file: 'base.arrow', format: 'arrow', check: 'rows', write: (p) => writeArrow(p, records(), { format: 'file', batchRows: 100 }) },
  { name: 'arrow stream', file: 'base.arrows', format: 'arrow', check: 'rows', write: (p) => writeArrow(p, records(), { format: 'stream', batchRows: 100 }) },
];

/** Seeded xorshift32: the same cases on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

type Damage = { kind: string; apply: (bytes: Buffer) => Buffer };

/** Case k of a format: flips of 1–8 bytes (most cases), a truncation, or appended garbage. */
function damage(k: number, next: () => number): Damage {
  const choice = k % 5;
  if (choice === 3) {
    return { kind: 'truncate', apply: (bytes) => bytes.subarray(0, Math.floor(next() * bytes.length)) };
  }
  if (choice === 4) {
    const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 32) }, () => Math.floor(next() * 256)));
    return { kind: 'append', apply: (bytes) => Buffer.concat([bytes, garbage]) };
  }
  const flips = 1 + Math.floor(next() * 8);
  const positions = Array.from({ length: flips }, () => next());
  const masks = Array.from({ length: flips }, () => 1 + Math.floor(next() * 255));
  return {
    kind: `flip ${flips}`,
    apply: (bytes) => {
      const copy = Buffer.from(bytes);
      positions.forEach((p, i) => (copy[Math.floor(p * copy.length)] ^= masks[i]));
      return copy;
    },
  };
}

interface Outcome {
  error?: unknown;
  ids: string[];
  texts: string[];
  problems: number;
  blankLines: number;
}

async function readOutcome(input: ResolvedInput): Promise<Outcome> {
  const outcome: Outcome = { ids: [], texts: [], problems: 0, blankLines: 0 };
  try {
    for await (const batch of readRecords(input, { id: 'id', text: 'text', source: 'source' }, { batchSize: 64 })) {
      outcome.ids.push(...batch.ids);
      outcome.texts.push(...batch.texts);
      outcome.problems += batch.problems.length;
      outcome.blankLines += batch.blankLines;
    }
  } catch (error) {
    outcome.error = error;
  }
  return outcome;
}

/** Lines of a (decompressed) JSONL byte string, as the reader counts them. */
function lineCount(bytes: Buffer): number {
  if (bytes.length === 0) return 0;
  const newlines = bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
  return bytes[bytes.length - 1] === 0x0a ? newlines : newlines + 1;
}

const originals = new Map<string, { ids: string[]; texts: string[] }>();

beforeAll(async () => {
  for (const f of FORMATS) {
    await f.write(join(temp.dir, f.file));
    const clean = await readOutcome(inputOf(f, join(temp.dir, f.file)));
    expect(clean.error).toBeUndefined();
    expect(clean.ids).toHaveLength(RECORDS);
    originals.set(f.name, { ids: clean.ids, texts: clean.texts });
  }
});

function inputOf(f: Format, path: string): ResolvedInput {
  const compression = path.endsWith('.gz') ? 'gzip' : path.endsWith('.zst') ? 'zstd' : 'none';
  return { path, displayPath: `shards/${path.split('/').at(-1)}`, format: f.format, compression, specIndex: 0, source: 'web' };
}

describe.each(FORMATS)('seeded damage to $name', (f) => {
  it(`${CASES_PER_FORMAT} cases: a one-line error or complete accounting`, async () => {
    const base = readFileSync(join(temp.dir, f.file));
    const next = random(0x5eed + f.name.length * 7919);
    const tally = { errors: 0, accounted: 0 };
    for (let k = 0; k < CASES_PER_FORMAT; k++) {
      const { kind, apply } = damage(k, next);
      const bytes = apply(base);
      const path = join(temp.dir, `case-${k}-${f.file}`);
      writeFileSync(path, bytes);
      const input = inputOf(f, path);
      const outcome = await readOutcome(input);
      const label = `${f.name} case ${k} (${kind})`;
      if (outcome.error !== undefined) {
        expect(outcome.error, label).toBeInstanceOf(TokenmixError);
        const message = (outcome.error as Error).message;
        expect(message.startsWith(`tokenmix: ${input.displayPath}`) || message.includes(input.displayPath), `${label}: ${message}`).toBe(true);
        expect(message, label).not.toContain('\n');
        tally.errors++;
        continue;
      }
      tally.accounted++;
      const original = originals.get(f.name)!;
      if (f.check === 'checksum') {
        // Checksummed data read without error is the original data.
        expect(outcome.ids, label).toEqual(original.ids);
        expect(outcome.texts, label).toEqual(original.texts);
      } else if (f.check === 'lines') {
        const content = f.file.endsWith('.zst') ? null : f.file.endsWith('.gz') ? gunzipSync(bytes) : bytes;
        const lines = outcome.ids.length + outcome.problems + outcome.blankLines;
        if (content !== null) expect(lines, label).toBe(lineCount(content));
        else expect(lines, label).toBeGreaterThan(0);
      } else {
        expect(outcome.ids.length + outcome.problems, label).toBe(RECORDS);
      }
    }
    if (process.env.TOKENMIX_FAULT_TALLY) console.log(f.name, tally);
    expect(tally.errors + tally.accounted).toBe(CASES_PER_FORMAT);
  });
});

describe('damaged inputs through the CLI', () => {
  const config = (dir: string, file: string, onError: string) => {
    const path = join(dir, `config-${onError}.json`);
    writeFileSync(path, JSON.stringify({ inputs: ['good.jsonl', file], on_error: onError }));
    return path;
  };
  const GOOD = ['g1', 'g2', 'g3'].map((id) => JSON.stringify({ id, source: 'web', text: `good document ${id}` })).join('\n') + '\n';

  it.each(FORMATS.filter((f) => f.check !== 'lines'))('$name truncated: fail mode stops with one line; quarantine sets the file aside', async (f) => {
    const dir = join(temp.dir, `cli-${f.file}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'good.jsonl'), GOOD);
    const base = readFileSync(join(temp.dir, f.file));
    writeFileSync(join(dir, f.file), base.subarray(0, Math.floor(base.length * 0.6)));
    const failed = expectCleanFailure(await cli(['curate', '--config', config(dir, f.file, 'fail'), '--out', join(dir, 'out-fail'), '--backend', 'cpu']));
    expect(failed).toContain(f.file);
    const out = join(dir, 'out-quarantine');
    expectSuccess(await cli(['curate', '--config', config(dir, f.file, 'quarantine'), '--out', out, '--backend', 'cpu']));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { totals: { input: number; kept: number; quarantined: number }; quarantine: Record<string, number> };
    expect(manifest.totals).toMatchObject({ input: 4, kept: 3, quarantined: 1 });
    expect(manifest.quarantine).toEqual({ 'unreadable-file': 1 });
  });

  it('dedup: a truncated gzip input fails with one line, or is quarantined whole', async () => {
    const dir = join(temp.dir, 'cli-dedup');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'good.jsonl'), GOOD);
    const base = readFileSync(join(temp.dir, 'base.jsonl.gz'));
    writeFileSync(join(dir, 'cut.jsonl.gz'), base.subarray(0, Math.floor(base.length / 2)));
    const inputs = ['--input', join(dir, 'good.jsonl'), '--input', join(dir, 'cut.jsonl.gz'), '--backend', 'cpu'];
    expect(expectCleanFailure(await cli(['dedup', ...inputs, '--out', join(dir, 'fail')]))).toContain('cut.jsonl.gz');
    const out = join(dir, 'quarantine');
    expectSuccess(await cli(['dedup', ...inputs, '--out', out, '--on-error', 'quarantine']));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { totals: { docs_in: number; docs_out: number; quarantined: number }; quarantine: Record<string, number> };
    expect(manifest.totals).toMatchObject({ docs_in: 3, docs_out: 3, quarantined: 1 });
    expect(manifest.quarantine).toEqual({ 'unreadable-file': 1 });
  });

  it.skipIf(!hasZstdCli())('a real child process: zstd with flipped bytes mid-stream exits 2 naming the byte offset', () => {
    const dir = join(temp.dir, 'cli-spawn');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'good.jsonl'), GOOD);
    const base = Buffer.from(readFileSync(join(temp.dir, 'cli.jsonl.zst')));
    for (let i = 0; i < 40; i++) base[Math.floor(base.length / 2) + i] ^= 0xff;
    writeFileSync(join(dir, 'bad.jsonl.zst'), base);
    const line = expectCleanFailure(spawnCli(['curate', '--config', config(dir, 'bad.jsonl.zst', 'fail'), '--out', join(dir, 'out'), '--backend', 'cpu']));
    expect(line).toMatch(/bad\.jsonl\.zst is not valid zstd data at byte offset \d+/);
  });
});
