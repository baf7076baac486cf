/**
 * Property-based tests (fast-check, seeded) of the readers and the config parser (issue 11):
 * arbitrary lines, records and configs never crash — the only failure is a one-line
 * `TokenmixError` — and nothing is lost: every line is a record, a problem or blank, the
 * same bytes gzip- or zstd-compressed read the same, and through the pipeline
 * `kept + dropped + quarantined = input`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { zstdRawFrame } from '../../fixtures/io/generate.js';
import { TokenmixError } from '../../src/errors.js';
import { readRecords, type ResolvedInput } from '../../src/io/index.js';
import { parseConfig } from '../../src/pipeline/config.js';
import { parseMixtureConfig } from '../../src/pipeline/mix-config.js';
import { cli, tempDir } from './cli.js';

const temp = tempDir();
afterAll(() => temp.cleanup());
const SEED = 20261129;
let fileCounter = 0;

const HOSTILE = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
const name = fc.oneof(fc.string({ minLength: 0, maxLength: 8 }), fc.constantFrom(...HOSTILE));
/** A record-like object: sometimes valid, often with a wrong or missing field. */
const recordLike = fc.record(
  {
    id: fc.oneof(name, fc.integer(), fc.constant(null)),
    source: fc.oneof(name, fc.constant(42)),
    text: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('   '), fc.constant(null)),
    score: fc.oneof(fc.double(), fc.constant('0.5')),
  },
  { requiredKeys: [] },
);
/** One JSONL line's text (no newline inside): a record, any JSON, or any string. */
const lineText = fc.oneof(
  { weight: 4, arbitrary: recordLike.map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '  ', '{', '[1,2]', 'null', '{"id":"x","text":"y"}') },
).map((text) => text.replace(/\n/g, ' '));
const lineBytes = fc.oneof(
  { weight: 6, arbitrary: lineText.map((text) => Buffer.from(text)) },
  // Raw bytes: invalid UTF-8 and stray separators (newlines removed: they would add lines).
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 0x0a))) },
);

interface Outcome {
  error?: string;
  ids: string[];
  problems: number;
  blank: number;
}

async function read(bytes: Uint8Array, suffix: string): Promise<Outcome> {
  const path = join(temp.dir, `p${fileCounter++}${suffix}`);
  writeFileSync(path, bytes);
  const input: ResolvedInput = {
    path, displayPath: `p${suffix}`, format: 'jsonl', specIndex: 0, source: 'fallback',
    compression: suffix.endsWith('.gz') ? 'gzip' : suffix.endsWith('.zst') ? 'zstd' : 'none',
  };
  const outcome: Outcome = { ids: [], problems: 0, blank: 0 };
  try {
    for await (const batch of readRecords(input, { id: 'id', text: 'text', source: 'source', quality: ['score'] }, { batchSize: 7, chunkBytes: 13 })) {
      outcome.ids.push(...batch.ids);
      outcome.problems += batch.problems.length;
      outcome.blank += batch.blankLines;
    }
  } catch (error) {
    // Anything but a one-line TokenmixError is a crash.
    if (!(error instanceof TokenmixError) || error.message.includes('\n')) throw error;
    outcome.error = error.message;
  }
  return outcome;
}

describe('JSONL readers on arbitrary lines', () => {
  it('every line is a record, a problem or blank; no crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineBytes, { maxLength: 25 }), fc.boolean(), async (lines, finalNewline) => {
        const bytes = Buffer.concat(lines.flatMap((line, i) => (i < lines.length - 1 || finalNewline ? [line, Buffer.from('\n')] : [line])));
        const outcome = await read(bytes, '.jsonl');
        if (outcome.error !== undefined) {
          // The only whole-file refusal for plain JSONL: a first line that opens a JSON array.
          expect(outcome.error).toContain('looks like one JSON array');
          return;
        }
        // Lines as an editor counts them: a final newline ends the last line, it starts none.
        const newlines = bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
        const expectedLines = bytes.length === 0 ? 0 : newlines + (bytes[bytes.length - 1] === 0x0a ? 0 : 1);
        expect(outcome.ids.length + outcome.problems + outcome.blank).toBe(expectedLines);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('gzip and zstd (several frames) read exactly like the plain bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineText, { minLength: 1, maxLength: 12 }), async (lines) => {
        const bytes = Buffer.from(`${lines.join('\n')}\n`);
        const plain = await read(bytes, '.jsonl');
        const half = Math.floor(bytes.length / 2);
        const zstd = Buffer.concat([zstdRawFrame(bytes.subarray(0, half)), zstdRawFrame(bytes.subarray(half))]);
        for (const [compressed, suffix] of [[gzipSync(bytes), '.jsonl.gz'], [zstd, '.jsonl.zst']] as const) {
          expect(await read(compressed, suffix)).toEqual(plain);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});

describe('config parser on arbitrary input', () => {
  const configLike = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record({
      inputs: fc.oneof(fc.constant(['a.jsonl']), fc.anything({ maxDepth: 2 })),
      fields: fc.anything({ maxDepth: 2 }),
      filters: fc.record({ quality: fc.anything({ maxDepth: 3 }), heuristics: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] }),
      dedup: fc.anything({ maxDepth: 3 }),
      evals: fc.dictionary(name, fc.anything({ maxDepth: 1 })),
      seed: fc.anything({ maxDepth: 1 }),
      on_error: fc.constantFrom('fail', 'quarantine', 'skip', 3),
      batch_size: fc.oneof(fc.integer(), fc.double()),
    }, { requiredKeys: [] }),
  );

  it('parseConfig returns a config or throws one TokenmixError line', () => {
    fc.assert(
      fc.property(configLike, (raw) => {
        try {
          parseConfig(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(TokenmixError);
          expect((error as Error).message).not.toContain('\n');
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('parseMixtureConfig likewise, and never accepts a size it cannot finish', () => {
    const mixtureLike = fc.record({
      budget_tokens: fc.oneof(fc.double(), fc.constantFrom(1e30, 1e15, 1000, -1, '1e9')),
      schedule: fc.anything({ maxDepth: 3 }),
      baseline: fc.anything({ maxDepth: 2 }),
      sweep: fc.oneof(fc.boolean(), fc.record({ candidates: fc.oneof(fc.integer(), fc.constantFrom(1e8, 1e6)) }, { requiredKeys: [] })),
      materialize: fc.oneof(fc.boolean(), fc.record({ format: fc.constantFrom('jsonl', 'parquet'), max_tokens: fc.double() }, { requiredKeys: [] })),
      epoch_cap: fc.anything({ maxDepth: 1 }),
    }, { requiredKeys: ['budget_tokens'] });
    fc.assert(
      fc.property(mixtureLike, (raw) => {
        let config;
        try {
          config = parseMixtureConfig(raw as Record<string, unknown>, 0);
        } catch (error) {
          expect(error).toBeInstanceOf(TokenmixError);
          expect((error as Error).message).not.toContain('\n');
          return;
        }
        expect(config.budget_tokens).toBeLessThanOrEqual(2 ** 53);
        if (config.sweep) expect(config.sweep.candidates).toBeLessThanOrEqual(1_000_000);
        if (config.materialize && (raw as { materialize?: { max_tokens?: number } }).materialize?.max_tokens === undefined) {
          expect(config.budget_tokens).toBeLessThanOrEqual(1e12);
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe('curate on arbitrary records (quarantine mode)', () => {
  it('kept + dropped + quarantined = input, per stage kept + dropped = in', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(lineText, { minLength: 1, maxLength: 15 }), fc.array(recordLike, { maxLength: 10 }), async (lines, records) => {
        const dir = join(temp.dir, `curate-${run++}`);
        mkdirSync(dir, { recursive: true });
        const text = [...lines, ...records.map((r) => JSON.stringify(r))].join('\n');
        writeFileSync(join(dir, 'in.jsonl'), `${text}\n`);
        if (text.trimStart().startsWith('[')) return; // a JSON array is refused whole (tested above)
        writeFileSync(join(dir, 'c.json'), JSON.stringify({
          inputs: [{ path: 'in.jsonl', source: 'fallback' }],
          on_error: 'quarantine',
          dedup: { exact: true },
          filters: { heuristics: { min_words: 2 } },
        }));
        const result = await cli(['curate', '--config', join(dir, 'c.json'), '--out', join(dir, 'out'), '--backend', 'cpu', '--no-report']);
        expect(result.err.join('\n')).not.toMatch(/^\s+at |internal error/m);
        expect(result.code).toBe(0);
        const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8')) as {
          totals: { input: number; kept: number; dropped: Record<string, number>; quarantined: number };
          inputs: { records: number; problems: number; blank_lines: number }[];
          stages: { docs_in: number; docs_out: number; dropped: Record<string, { docs: number }> }[];
        };
        const { totals } = manifest;
        const dropped = Object.values(totals.dropped).reduce((a, b) => a + b, 0);
        expect(totals.kept + dropped + totals.quarantined).toBe(totals.input);
        const [input] = manifest.inputs;
        expect(input.records + input.problems).toBe(totals.input);
        expect(input.records + input.problems + input.blank_lines).toBe(lines.length + records.length);
        for (const stage of manifest.stages) {
          expect(stage.docs_out + Object.values(stage.dropped).reduce((a, d) => a + d.docs, 0)).toBe(stage.docs_in);
        }
      }),
      { seed: SEED, numRuns: 25 },
    );
  });
});
