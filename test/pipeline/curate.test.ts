/**
 * `curate()` end to end at library level (SPEC §2, §6, §7): the seed's toy scenarios with
 * hand counts, stage accounting identities, byte-identical outputs across backends, sharding
 * and resumption, top-fraction thresholds, best-quality dedup and heuristic drop reasons.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenmixError } from '../../src/errors.js';
import { curate, type Manifest } from '../../src/pipeline/curate.js';
import type { StageReport } from '../../src/steps/accounting.js';
import { openTestGpu } from '../helpers/gpu.js';
import { CPU, dropLines, keptIds, readJsonl, readManifest, run, runComplete, snapshot, sum, tempDir, writeConfig } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE_CONFIG = join(root, 'fixtures', 'corpus', 'curate.json');
const gpu = await openTestGpu();
const temp = tempDir();
afterAll(() => {
  gpu.ctx?.destroy();
  temp.cleanup();
});

let counter = 0;
/** A fresh directory under the test's temp dir. */
function fresh(name: string): string {
  const dir = join(temp.dir, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A fresh directory holding a copy of the fixture corpus and its config. */
function fixtureCopy(name: string): string {
  const dir = fresh(name);
  cpSync(join(root, 'fixtures', 'corpus'), dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------
// The toy (seeds/002 "Code"): 7 documents, tokens = words (all lower-case, space-separated).

/** Hand counts of fixtures/toy/corpus.jsonl: words per text. */
const TOY_TOKENS: Record<string, number> = { web_a: 15, web_b: 15, web_c: 15, edu_a: 13, edu_b: 12, code_a: 11, code_b: 10 };
const TOY_IDS = ['web_a', 'web_b', 'web_c', 'edu_a', 'edu_b', 'code_a', 'code_b'];

async function runToy(extra: object): Promise<{ manifest: Manifest; out: string }> {
  const dir = fresh('toy');
  copyFileSync(join(root, 'fixtures', 'toy', 'corpus.jsonl'), join(dir, 'corpus.jsonl'));
  const config = writeConfig(dir, { inputs: ['corpus.jsonl'], fields: { quality: 'quality' }, tokenizer: 'words', seed: 1, ...extra });
  const out = join(dir, 'out');
  return { manifest: await runComplete(config, out), out };
}

interface Expected {
  in: [docs: number, tokens: number];
  out: [docs: number, tokens: number];
  dropped?: Record<string, [docs: number, tokens: number]>;
}

function expectCounts(report: Omit<StageReport, 'name' | 'per_source'>, expected: Expected): void {
  expect([report.docs_in, report.tokens_in]).toEqual(expected.in);
  expect([report.docs_out, report.tokens_out]).toEqual(expected.out);
  const dropped = Object.fromEntries(Object.entries(expected.dropped ?? {}).map(([k, [docs, tokens]]) => [k, { docs, tokens }]));
  expect(report.dropped).toEqual(dropped);
  expect(report.doc_acceptance).toBeCloseTo(expected.in[0] === 0 ? 1 : expected.out[0] / expected.in[0], 10);
  expect(report.token_acceptance).toBeCloseTo(expected.in[1] === 0 ? 1 : expected.out[1] / expected.in[1], 10);
}

describe('the toy corpus (seeds/002)', () => {
  it('token counts by hand match the texts (words tokenizer = space-separated words here)', () => {
    const lines = readJsonl<{ id: string; text: string }>(join(root, 'fixtures', 'toy', 'corpus.jsonl'));
    expect(Object.fromEntries(lines.map((r) => [r.id, r.text.split(' ').length]))).toEqual(TOY_TOKENS);
  });

  it('curated: thresholds web .55 / edu .60 / code .60 + exact dedup keep exactly web_a, edu_a, code_a', async () => {
    const { manifest, out } = await runToy({
      filters: { quality: { field: 'quality', thresholds: { web: 0.55, edu: 0.6, code: 0.6 } } },
      dedup: { exact: true },
    });
    expect(keptIds(out)).toEqual(['web_a', 'edu_a', 'code_a']);
    expect(manifest.stages.map((s) => s.name)).toEqual(['quality', 'exact_dedup']);
    const [quality, dedup] = manifest.stages;
    expectCounts(quality, { in: [7, 91], out: [4, 54], dropped: { below_threshold: [3, 37] } });
    expectCounts(quality.per_source.web, { in: [3, 45], out: [2, 30], dropped: { below_threshold: [1, 15] } });
    expectCounts(quality.per_source.edu, { in: [2, 25], out: [1, 13], dropped: { below_threshold: [1, 12] } });
    expectCounts(quality.per_source.code, { in: [2, 21], out: [1, 11], dropped: { below_threshold: [1, 10] } });
    expectCounts(dedup, { in: [4, 54], out: [3, 39], dropped: { duplicate: [1, 15] } });
    expectCounts(dedup.per_source.web, { in: [2, 30], out: [1, 15], dropped: { duplicate: [1, 15] } });
    expectCounts(dedup.per_source.edu, { in: [1, 13], out: [1, 13] });
    expectCounts(dedup.per_source.code, { in: [1, 11], out: [1, 11] });
    expect(manifest.totals).toEqual({ input: 7, kept: 3, dropped: { 'exact_dedup:duplicate': 1, 'quality:below_threshold': 3 }, quarantined: 0 });
    expect(manifest.totals_tokens).toEqual({ input: 91, kept: 39, dropped: { 'exact_dedup:duplicate': 15, 'quality:below_threshold': 37 }, quarantined: 0 });
    const drops = dropLines(out).map((d) => [d.id, d.stage, d.reason]);
    expect(drops).toEqual([
      ['web_b', 'quality', 'below_threshold'],
      ['web_c', 'exact_dedup', 'duplicate'],
      ['edu_b', 'quality', 'below_threshold'],
      ['code_b', 'quality', 'below_threshold'],
    ]);
    expect(manifest.tokenizer.name).toBe('words');
    expect(manifest.sources).toEqual(['code', 'edu', 'web']);
  });

  it('baseline: no thresholds, no dedup keeps all 7 documents (91 tokens)', async () => {
    const { manifest, out } = await runToy({});
    expect(keptIds(out)).toEqual(TOY_IDS);
    expect(manifest.stages).toEqual([]);
    expect(manifest.totals).toEqual({ input: 7, kept: 7, dropped: {}, quarantined: 0 });
    expect(manifest.totals_tokens).toEqual({ input: 91, kept: 91, dropped: {}, quarantined: 0 });
  });

  it('baseline as the seed writes it (thresholds 0.0, dedup off) filters nothing', async () => {
    const { manifest, out } = await runToy({ filters: { quality: { field: 'quality', thresholds: { web: 0, edu: 0, code: 0 } } } });
    expect(keptIds(out)).toEqual(TOY_IDS);
    expectCounts(manifest.stages[0], { in: [7, 91], out: [7, 91] });
  });

  it('keep "best-quality" keeps web_c (0.70) over its earlier copy web_a (0.65)', async () => {
    const { out } = await runToy({ filters: { quality: { field: 'quality', thresholds: {} } }, dedup: { exact: true, keep: 'best-quality' } });
    expect(keptIds(out)).toEqual(['web_b', 'web_c', 'edu_a', 'edu_b', 'code_a', 'code_b']);
  });
});

// ---------------------------------------------------------------------------------------
// The bundled fixture corpus: accounting, backends, sharding, resumption.

describe('the fixture corpus (fixtures/corpus/curate.json)', () => {
  let reference: { out: string; manifest: Manifest; files: Record<string, string> };
  beforeAll(async () => {
    const out = fresh('fixture-ref');
    const manifest = await runComplete(FIXTURE_CONFIG, out);
    reference = { out, manifest, files: snapshot(out) };
  });

  it('every stage adds up per source and in total, and stages chain', () => {
    const { manifest } = reference;
    expect(manifest.stages.map((s) => s.name)).toEqual(['quality', 'heuristics', 'exact_dedup', 'near_dedup']);
    const scored = manifest.totals.input - manifest.totals.quarantined;
    for (const [k, stage] of manifest.stages.entries()) {
      for (const report of [stage, ...Object.values(stage.per_source)]) {
        expect(report.docs_out + sum(Object.values(report.dropped).map((d) => d.docs))).toBe(report.docs_in);
        expect(report.tokens_out + sum(Object.values(report.dropped).map((d) => d.tokens))).toBe(report.tokens_in);
      }
      expect(Object.keys(stage.per_source)).toEqual(manifest.sources);
      expect(stage.docs_in).toBe(sum(Object.values(stage.per_source).map((s) => s.docs_in)));
      expect(stage.tokens_out).toBe(sum(Object.values(stage.per_source).map((s) => s.tokens_out)));
      if (k === 0) {
        expect(stage.docs_in).toBe(scored);
        expect(stage.tokens_in).toBe(manifest.totals_tokens.input);
      } else {
        const before = manifest.stages[k - 1];
        for (const source of manifest.sources) {
          expect(stage.per_source[source].docs_in).toBe(before.per_source[source].docs_out);
          expect(stage.per_source[source].tokens_in).toBe(before.per_source[source].tokens_out);
        }
      }
    }
    const last = manifest.stages.at(-1)!;
    expect(manifest.totals.kept).toBe(last.docs_out);
    expect(manifest.totals_tokens.kept).toBe(last.tokens_out);
  });

  it('totals: kept + dropped + quarantined = input, in documents and tokens, and match the files', () => {
    const { manifest, out } = reference;
    const { totals, totals_tokens: tokens } = manifest;
    expect(totals.kept + sum(Object.values(totals.dropped)) + totals.quarantined).toBe(totals.input);
    expect(tokens.kept + sum(Object.values(tokens.dropped)) + tokens.quarantined).toBe(tokens.input);
    expect(tokens.quarantined).toBe(0);
    expect(totals.input).toBe(sum(manifest.inputs.map((i) => i.records + i.problems)));
    // The fixture holds 4 bad records (missing score, empty text, truncated JSON, duplicate id).
    expect(totals.quarantined).toBe(4);
    expect(manifest.quarantine).toEqual({ 'duplicate-id': 1, 'empty-text': 1, 'malformed-json': 1, 'missing-field': 1 });
    expect(keptIds(out).length).toBe(totals.kept);
    const drops = dropLines(out);
    expect(drops.length).toBe(sum(Object.values(totals.dropped)));
    for (const [key, n] of Object.entries(totals.dropped)) {
      expect(drops.filter((d) => `${d.stage}:${d.reason}` === key).length).toBe(n);
    }
    expect(readJsonl(join(out, 'quarantine.jsonl')).length).toBe(totals.quarantined);
  });

  it('the manifest lists inputs with content hashes and outputs with their true hashes', () => {
    const { manifest, out } = reference;
    expect(manifest.tool).toEqual({ name: 'tokenmix', version: expect.any(String) });
    expect(manifest.inputs.map((i) => i.path)).toEqual(['web.jsonl.zst', 'code.parquet', 'math.jsonl.gz', 'web-extra.jsonl']);
    for (const input of manifest.inputs) {
      const bytes = readFileSync(join(root, 'fixtures', 'corpus', input.path));
      expect(input.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(input.bytes).toBe(bytes.length);
    }
    const listed = manifest.outputs.map((o) => o.path);
    expect(listed).toEqual(Object.keys(reference.files).filter((p) => p !== 'manifest.json').sort());
    for (const o of manifest.outputs) {
      const bytes = readFileSync(join(out, o.path));
      expect([o.bytes, o.sha256]).toEqual([bytes.length, createHash('sha256').update(bytes).digest('hex')]);
    }
  });

  it('top_fraction keeps at least p of the source tokens (math: 0.8)', () => {
    const math = reference.manifest.stages[0].per_source.math;
    expect(math.tokens_out).toBeGreaterThanOrEqual(0.8 * math.tokens_in);
  });

  it('a rerun after completion skips every shard and rewrites identical bytes', async () => {
    const out = fresh('fixture-rerun');
    await runComplete(FIXTURE_CONFIG, out);
    const before = snapshot(out);
    const log: string[] = [];
    const result = await curate({ configPath: FIXTURE_CONFIG, outDir: out, backend: CPU, log: (t) => log.push(t) });
    expect(result.status).toBe('complete');
    expect(log.join('\n')).toContain('4 of 4 work units already complete');
    expect(snapshot(out)).toEqual(before);
    expect(before).toEqual(reference.files);
  });

  it('--world-size 3 (ranks 0, 1, 2 in turn; the last writes the manifest) = one run, audit samples included', async () => {
    const out = fresh('fixture-ws3');
    const first = await run(FIXTURE_CONFIG, out, { rank: 0, worldSize: 3 });
    // Units go to ranks balanced by bytes (src/exec/units.ts assignUnits), not input i mod 3.
    expect(first.status).toBe('partial');
    if (first.status !== 'partial') return;
    expect(first.pendingShards.length).toBeGreaterThan(0);
    expect(first.pendingShards.length + first.completedShards).toBe(4);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect((await run(FIXTURE_CONFIG, out, { rank: 1, worldSize: 3 })).status).toBe('partial');
    expect((await run(FIXTURE_CONFIG, out, { rank: 2, worldSize: 3 })).status).toBe('complete');
    const files = snapshot(out);
    expect(files).toEqual(reference.files);
    const audits = Object.keys(files).filter((p) => p.startsWith('audit/'));
    expect(audits.length).toBeGreaterThanOrEqual(4);
  });

  it('ranks in another order, then a plain run finishing the rest, give the same bytes', async () => {
    const out = fresh('fixture-ws2');
    expect((await run(FIXTURE_CONFIG, out, { rank: 1, worldSize: 2 })).status).toBe('partial');
    await runComplete(FIXTURE_CONFIG, out);
    expect(snapshot(out)).toEqual(reference.files);
  });

  it('batch_size changes no decision: keep, drop, quarantine and audit files are identical', async () => {
    const dir = fixtureCopy('fixture-batch');
    const config = JSON.parse(readFileSync(FIXTURE_CONFIG, 'utf8'));
    const out = join(dir, 'out');
    await runComplete(writeConfig(dir, { ...config, batch_size: 7 }, 'batch7.json'), out);
    const files = snapshot(out);
    delete files['manifest.json']; // records the config, batch_size included
    const expected = { ...reference.files };
    delete expected['manifest.json'];
    expect(files).toEqual(expected);
    const manifest = readManifest(out);
    expect([manifest.stages, manifest.totals, manifest.totals_tokens, manifest.outputs]).toEqual([
      reference.manifest.stages, reference.manifest.totals, reference.manifest.totals_tokens, reference.manifest.outputs,
    ]);
  });

  it('a rerun with a different config into the same directory is refused', async () => {
    const dir = fixtureCopy('fixture-changed');
    const config = JSON.parse(readFileSync(FIXTURE_CONFIG, 'utf8'));
    const out = join(dir, 'out');
    await runComplete(join(dir, 'curate.json'), out);
    const changed = writeConfig(dir, { ...config, seed: 8 }, 'changed.json');
    await expect(run(changed, out)).rejects.toThrow(TokenmixError);
    await expect(run(changed, out)).rejects.toThrow(/different config/);
  });

  it('audit samples are seeded: bounded by per_reason, drawn from the right records, different for another seed', async () => {
    const { out, manifest } = reference;
    const drops = new Map(dropLines(out).map((d) => [d.id, `${d.stage}:${d.reason}`]));
    const kept = new Set(keptIds(out));
    for (const name of readdirSync(join(out, 'audit'))) {
      const samples = readJsonl<{ id: string; stage: string; reason: string; excerpt: string; tokens: number }>(join(out, 'audit', name));
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.length).toBeLessThanOrEqual(manifest.config.audit.per_reason);
      for (const s of samples) {
        if (s.stage === 'kept') expect(kept.has(s.id)).toBe(true);
        else expect(drops.get(s.id)).toBe(`${s.stage}:${s.reason}`);
        expect(s.excerpt.length).toBeGreaterThan(0);
      }
    }
    // Another seed (same data) draws another sample.
    const dir = fixtureCopy('fixture-seed');
    const config = JSON.parse(readFileSync(FIXTURE_CONFIG, 'utf8'));
    const other = join(dir, 'out');
    await runComplete(writeConfig(dir, { ...config, seed: 8 }, 'seed8.json'), other);
    const sample = (o: string) => readFileSync(join(o, 'audit', 'kept_kept.jsonl'), 'utf8');
    expect(sample(other)).not.toBe(sample(out));
    expect(keptIds(other)).toEqual(keptIds(out));
  });

  describe.skipIf(!gpu.ctx)(`GPU backend (${gpu.label})`, () => {
    it('GPU outputs are byte-identical to CPU outputs', async () => {
      const out = fresh('fixture-gpu');
      await runComplete(FIXTURE_CONFIG, out, { backend: { kind: 'gpu', ctx: gpu.ctx! } });
      expect(snapshot(out)).toEqual(reference.files);
    });

    it('GPU with --world-size 2 is byte-identical to the CPU single run', async () => {
      const out = fresh('fixture-gpu-ws2');
      const backend = { kind: 'gpu' as const, ctx: gpu.ctx! };
      expect((await run(FIXTURE_CONFIG, out, { backend, rank: 0, worldSize: 2 })).status).toBe('partial');
      expect((await run(FIXTURE_CONFIG, out, { backend, rank: 1, worldSize: 2 })).status).toBe('complete');
      expect(snapshot(out)).toEqual(reference.files);
    });
  });
});

describe('near dedup reads the inputs themselves (only the rows that reach it)', () => {
  it('a damaged input quarantined whole is not read again; near duplicates of the good one go', async () => {
    const dir = fresh('near-damaged');
    const words = (n: number) => Array.from({ length: 60 }, (_, i) => `w${(i * 7 + n) % 89}`).join(' ');
    const good = [
      { id: 'a', source: 'web', text: words(1) },
      { id: 'b', source: 'web', text: `${words(1)} tail` }, // a near duplicate of a
      { id: 'c', source: 'web', text: words(2) },
    ];
    writeFileSync(join(dir, 'good.jsonl'), good.map((r) => JSON.stringify(r)).join('\n') + '\n');
    // A gzip stream cut short: the reader fails inside it.
    const whole = gzipSync(Buffer.from(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: `z${i}`, source: 'web', text: words(i) })).join('\n')));
    writeFileSync(join(dir, 'bad.jsonl.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const config = writeConfig(dir, { inputs: ['good.jsonl', 'bad.jsonl.gz'], tokenizer: 'words', on_error: 'quarantine', dedup: { exact: true, near: { threshold: 0.8 } } });
    const out = join(dir, 'out');
    const manifest = await runComplete(config, out);
    expect(keptIds(out)).toEqual(['a', 'c']);
    expect(manifest.near_dedup?.removed).toBe(1);
    expect(readJsonl(join(out, 'quarantine.jsonl')).some((q) => (q as { file: string }).file === 'bad.jsonl.gz')).toBe(true);
  });

  it('fields.source null: near dedup reads no source field either (a number there is not a bad record)', async () => {
    const dir = fresh('near-no-source');
    const words = (n: number) => Array.from({ length: 60 }, (_, i) => `w${(i * 7 + n) % 89}`).join(' ');
    const records = [
      { id: 'a', source: 7, text: words(1) },
      { id: 'b', source: 7, text: `${words(1)} tail` },
      { id: 'c', source: 7, text: words(2) },
    ];
    writeFileSync(join(dir, 'web.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const config = writeConfig(dir, { inputs: [{ path: 'web.jsonl', source: 'web' }], fields: { source: null }, tokenizer: 'words', dedup: { exact: true, near: { threshold: 0.8 } } });
    const out = join(dir, 'out');
    const manifest = await runComplete(config, out);
    expect(keptIds(out)).toEqual(['a', 'c']);
    expect(manifest.near_dedup?.removed).toBe(1);
    expect(manifest.totals.quarantined).toBe(0);
  });
});
