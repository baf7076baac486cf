/**
 * Issue 13 part 2: training-ready token shards, read back by an independent reader of the
 * documented byte layout (tools/read_shards.py: Python + numpy, no tokenmix code), checked
 * against the sampling plan (document order and lengths, per-source token totals), against the
 * schedule's stage weights at every stage boundary (targets computed here from the config), and
 * decoded back to the planned documents' text. Then resumption: a run killed between shards
 * resumes from the finished ones without rewriting them and produces identical bytes.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { mix, type MixManifest } from '../../src/pipeline/mix.js';
import { loadTokenizer } from '../../src/text/load-node.js';
import { CPU, readJsonl, snapshot, tempDir } from './helpers.js';
import { fixtureMixConfig } from './mix-fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const reader = join(root, 'tools', 'read_shards.py');
const temp = tempDir('tokenmix-materialize-');
afterAll(() => temp.cleanup());

interface ReadBack {
  format: string;
  dtype: string[];
  eod_token: number;
  documents: number;
  lengths: number[];
  ids?: number[][];
}
interface PlanLine {
  index: number;
  source: string;
  id: string;
  epoch: number;
  stage: number;
  tokens: number;
}

function readBack(mixedDir: string, ids = false): ReadBack {
  const result = spawnSync('python3', [reader, mixedDir, ...(ids ? ['--ids'] : [])], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`read_shards.py failed (${result.status}): ${result.stderr || result.error}`);
  return JSON.parse(result.stdout) as ReadBack;
}

async function mixComplete(configPath: string, outDir: string, extra: { from?: string; log?: (t: string) => void } = {}) {
  const result = await mix({ configPath, outDir, backend: CPU, ...extra });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  return result;
}

const SCHEDULE = [
  { fraction: 0.8, weights: { web: 0.6, code: 0.2, math: 0.2 } },
  { fraction: 0.2, weights: { web: 0.3, code: 0.35, math: 0.35 }, name: 'anneal' },
];

/**
 * SPEC §6 at every stage boundary b = B·F_s: once the plan passes b, each source holds its target
 * sum_s w_si·|stage s ∩ [0, T)| to within one document; and within each stage, each source's
 * share of the stage's tokens is its stage weight to within two documents (a lag repaid).
 */
function checkStageShares(plan: PlanLine[], lengths: number[], budget: number) {
  const sources = Object.keys(SCHEDULE[0].weights);
  const normalized = SCHEDULE.map((stage) => {
    const total = sources.reduce((a, s) => a + stage.weights[s as keyof typeof stage.weights], 0);
    return Object.fromEntries(sources.map((s) => [s, stage.weights[s as keyof typeof stage.weights] / total]));
  });
  const boundary = budget * SCHEDULE[0].fraction;
  const target = (source: string, T: number) => normalized[0][source] * Math.min(T, boundary) + normalized[1][source] * Math.max(0, T - boundary);
  const maxDoc = Math.max(...lengths);
  const held: Record<string, number> = Object.fromEntries(sources.map((s) => [s, 0]));
  const inStage = [0, 1].map(() => Object.fromEntries(sources.map((s) => [s, 0])) as Record<string, number>);
  let T = 0;
  const checkpoints: number[] = [];
  for (let k = 0; k < plan.length; k++) {
    const stage = T < boundary ? 0 : 1;
    expect(plan[k].stage).toBe(stage);
    held[plan[k].source] += lengths[k];
    inStage[stage][plan[k].source] += lengths[k];
    const before = T;
    T += lengths[k];
    if ((before < boundary && T >= boundary) || k === plan.length - 1) {
      checkpoints.push(T);
      for (const s of sources) expect(Math.abs(held[s] - target(s, T)), `${s} at T = ${T}`).toBeLessThanOrEqual(maxDoc);
    }
  }
  expect(checkpoints.length).toBe(2);
  expect(T).toBeGreaterThanOrEqual(budget);
  for (const stage of [0, 1]) {
    const total = sources.reduce((a, s) => a + inStage[stage][s], 0);
    for (const s of sources) expect(Math.abs(inStage[stage][s] - normalized[stage][s] * total), `${s} in stage ${stage}`).toBeLessThanOrEqual(2 * maxDoc);
  }
}

function perSourceTotals(plan: PlanLine[], lengths: number[]) {
  const totals: Record<string, number> = {};
  plan.forEach((p, k) => (totals[p.source] = (totals[p.source] ?? 0) + lengths[k]));
  return totals;
}

function expectPlanTotals(manifest: MixManifest, plan: PlanLine[], back: ReadBack) {
  expect(back.documents).toBe(plan.length);
  expect(back.lengths).toEqual(plan.map((p) => p.tokens));
  const totals = perSourceTotals(plan, back.lengths);
  for (const s of manifest.sampling_plan!.per_source) expect(totals[s.source] ?? 0, s.source).toBe(s.tokens);
  expect(back.lengths.reduce((a, b) => a + b, 0)).toBe(manifest.sampling_plan!.tokens);
}

describe('training-ready token shards, read back by tools/read_shards.py', () => {
  it('megatron (.bin/.idx, uint16): the plan in order, shares at every stage boundary, ids decode to the planned texts', async () => {
    const config = fixtureMixConfig(temp.dir, 'megatron.json', { schedule: SCHEDULE, materialize: { format: 'megatron', docs_per_shard: 500 } });
    const out = join(temp.dir, 'megatron');
    const { manifest } = await mixComplete(config, out);
    const back = readBack(join(out, 'mixed'), true);
    const plan = readJsonl<PlanLine>(join(out, 'sampling_plan.jsonl'));
    expect(back.format).toBe('megatron');
    expect(back.dtype).toEqual(['uint16']);
    // `words`: ids index the sorted corpus vocabulary; the end-of-document token is the next id.
    expect(back.eod_token).toBe(manifest.mixture.vocab_size);
    expect(readdirSync(join(out, 'mixed')).filter((f) => f.endsWith('.idx')).length).toBe(Math.ceil(plan.length / 500));
    expectPlanTotals(manifest, plan, back);
    checkStageShares(plan, back.lengths, manifest.mixture.budget_tokens);

    // The texts of the planned documents: the same mixture materialized as JSONL from the curated directory.
    const asJsonl = join(temp.dir, 'megatron-as-jsonl');
    await mixComplete(fixtureMixConfig(temp.dir, 'jsonl.json', { schedule: SCHEDULE, materialize: { format: 'jsonl', docs_per_shard: 500 } }), asJsonl, { from: out });
    expect(readFileSync(join(asJsonl, 'sampling_plan.jsonl'))).toEqual(readFileSync(join(out, 'sampling_plan.jsonl')));
    const rows = readdirSync(join(asJsonl, 'mixed')).sort().flatMap((f) => readJsonl<{ text: string; id: string }>(join(asJsonl, 'mixed', f)));
    const vocabulary = JSON.parse(readFileSync(join(out, 'mixed', 'vocab.json'), 'utf8')) as string[];
    const words = await loadTokenizer('words', { baseDir: root });
    expect(rows.length).toBe(back.documents);
    rows.forEach((row, k) => {
      expect(row.id).toBe(plan[k].id);
      expect(back.ids![k].map((id) => vocabulary[id])).toEqual(words.tokenize(row.text));
    });
  });

  it('tokens (flat .bin + .docs): an end-of-document id past 65535 switches to int32', async () => {
    const config = fixtureMixConfig(temp.dir, 'tokens.json', { schedule: SCHEDULE, materialize: { format: 'tokens', docs_per_shard: 700, eod_token: 70000 } });
    const out = join(temp.dir, 'tokens');
    const { manifest } = await mixComplete(config, out);
    const back = readBack(join(out, 'mixed'));
    expect(back).toMatchObject({ format: 'tokens', dtype: ['int32'], eod_token: 70000 });
    const plan = readJsonl<PlanLine>(join(out, 'sampling_plan.jsonl'));
    expectPlanTotals(manifest, plan, back);
    checkStageShares(plan, back.lengths, manifest.mixture.budget_tokens);
    expect(manifest.sampling_plan!.token_layout).toEqual({ dtype: 'int32', eod_token: 70000, vocab_size: manifest.mixture.vocab_size, tokenizer: 'words' });
  });

  it('a tokenizer.json: its <|endoftext|> added token ends each document', async () => {
    const tokenizer = join(root, 'fixtures', 'tokenizers', 'tiny-bpe.json');
    const config = fixtureMixConfig(temp.dir, 'bpe.json', { tokenizer, schedule: SCHEDULE, materialize: { format: 'megatron', docs_per_shard: 1000 } });
    const out = join(temp.dir, 'bpe');
    const { manifest } = await mixComplete(config, out);
    const back = readBack(join(out, 'mixed'));
    // tiny-bpe.json: 266 byte-level pieces and merges, then <|endoftext|> added as id 266 (V = 267).
    expect(back).toMatchObject({ format: 'megatron', dtype: ['uint16'], eod_token: 266 });
    expect(manifest.mixture.vocab_size).toBe(267);
    expectPlanTotals(manifest, readJsonl<PlanLine>(join(out, 'sampling_plan.jsonl')), back);
    expect(existsSync(join(out, 'mixed', 'vocab.json'))).toBe(false);
  });

  it('the reader rejects a damaged index (the layout check is real)', async () => {
    const out = join(temp.dir, 'megatron');
    const idx = join(out, 'mixed', 'part-00000.idx');
    const original = readFileSync(idx);
    try {
      appendFileSync(idx, Buffer.alloc(8));
      const result = spawnSync('python3', [reader, join(out, 'mixed')], { encoding: 'utf8' });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/part-00000.idx: 8 trailing bytes/);
    } finally {
      writeFileSync(idx, original);
    }
  });
});

describe('resumable materialization', () => {
  it('a run killed after two shards keeps them untouched, resumes at entry 600 and writes identical bytes', async () => {
    const config = fixtureMixConfig(temp.dir, 'resume.json', { materialize: { format: 'megatron', docs_per_shard: 300 } });
    const reference = join(temp.dir, 'resume-reference');
    await mixComplete(config, reference);
    const expected = snapshot(reference);
    const out = join(temp.dir, 'resume');
    await mixComplete(config, out);
    // What a kill inside shard 2 leaves: markers of shards 0 and 1, a partial shard 2, no plan file.
    const markers = join(out, '.tokenmix', 'materialize');
    for (const name of readdirSync(markers)) if (!/^part-0000[01]\./.test(name)) rmSync(join(markers, name));
    for (const name of readdirSync(join(out, 'mixed'))) if (!/^part-0000[01]\./.test(name)) rmSync(join(out, 'mixed', name));
    writeFileSync(join(out, 'mixed', 'part-00002.bin.partial'), 'half a shard');
    rmSync(join(out, 'sampling_plan.jsonl'));
    const kept = ['part-00000.bin', 'part-00000.idx', 'part-00001.bin', 'part-00001.idx'].map((f) => join(out, 'mixed', f));
    const stamps = () => kept.map((f) => [statSync(f).ino, statSync(f).mtimeMs]);
    const before = stamps();

    const logs: string[] = [];
    const resumed = await mixComplete(config, out, { log: (t) => logs.push(t) });
    expect(resumed.reused).toEqual({ curation: true, histograms: true });
    expect(logs).toContain('tokenmix: materialize: 2 finished shard(s) kept, resuming the plan at entry 600');
    expect(stamps()).toEqual(before);
    expect(snapshot(out)).toEqual(expected);

    // A finished shard whose bytes changed is not trusted: it and the shards after it are rewritten.
    const damaged = join(out, 'mixed', 'part-00001.bin');
    const bytes = readFileSync(damaged);
    bytes[10] ^= 0xff;
    writeFileSync(damaged, bytes);
    logs.length = 0;
    await mixComplete(config, out, { log: (t) => logs.push(t) });
    expect(logs).toContain('tokenmix: materialize: 1 finished shard(s) kept, resuming the plan at entry 300');
    expect(snapshot(out)).toEqual(expected);
  });
});
