/**
 * `tokenmix mix` end to end on the seed's toy (fixtures/toy): the real pipeline (reader,
 * `words` tokenizer, quality threshold, exact dedup, contamination by shared 8-grams,
 * histogram kernel, mixture engine) must reproduce the seed's numbers — goldens in
 * fixtures/toy/expected.json, written by running the seed's own Python (fixtures/toy/toy.py)
 * — to 1e-9, on the CPU and on the GPU, with byte-identical manifests.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mix, type MixManifest } from '../src/pipeline/mix.js';
import type { Backend } from '../src/backend.js';
import { openTestGpu } from './helpers/gpu.js';
import { retainedCorpus } from '../src/pipeline/distributions.js';
import { encodeTexts } from '../src/pipeline/encode-task.js';
import { resolveInputs } from '../src/io/index.js';
import { loadTokenizer } from '../src/text/load-node.js';

const golden = JSON.parse(readFileSync(new URL('../fixtures/toy/expected.json', import.meta.url), 'utf8'));
const configs = new URL('../fixtures/toy/configs/', import.meta.url).pathname;
const gpu = await openTestGpu();
const work = mkdtempSync(join(tmpdir(), 'tokenmix-mix-'));
afterAll(() => {
  gpu.ctx?.destroy();
  rmSync(work, { recursive: true, force: true });
});

async function run(scenario: 'baseline' | 'curated_late', backend: Backend, tag: string) {
  const out = join(work, `${scenario}-${tag}`);
  const result = await mix({ configPath: join(configs, `${scenario}.json`), outDir: out, backend });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  const kept = readFileSync(join(out, 'keep', '00000-corpus.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).id);
  return { manifest: result.manifest, text: readFileSync(join(out, 'manifest.json'), 'utf8'), kept };
}

function expectToy(manifest: MixManifest, kept: string[], scenario: 'baseline' | 'curated_late', tolerance: number) {
  const expected = golden.scenarios[scenario];
  expect(kept).toEqual(expected.kept_docs);
  for (const [name, value] of Object.entries(expected.losses as Record<string, number>)) {
    expect(Math.abs(manifest.diagnostics.losses[name] - value)).toBeLessThanOrEqual(tolerance);
  }
  expect(Math.abs(manifest.diagnostics.contamination_mass - expected.contamination_mass)).toBeLessThanOrEqual(tolerance);
  for (const [name, value] of Object.entries(expected.repetition_pressure as Record<string, number>)) {
    expect(Math.abs(manifest.diagnostics.repetition_pressure[name] - value)).toBeLessThanOrEqual(tolerance);
  }
  for (const [name, value] of Object.entries(expected.retained_tokens as Record<string, number>)) {
    expect(manifest.diagnostics.retained_tokens[name]).toBe(value);
  }
}

describe('tokenmix mix reproduces the seed toy (CPU)', () => {
  const cpu: Backend = { kind: 'cpu', reason: 'test' };
  it.each(['baseline', 'curated_late'] as const)('%s scenario to 1e-9', async (scenario) => {
    const { manifest, kept } = await run(scenario, cpu, 'cpu');
    expectToy(manifest, kept, scenario, 1e-9);
    expect(manifest.mixture.budget_tokens).toBe(180);
    expect(manifest.mixture.vocab_size).toBe(8);
  });
  it("satisfies the seed's four asserted inequalities", async () => {
    const base = (await run('baseline', cpu, 'cpu-ineq')).manifest.diagnostics;
    const late = (await run('curated_late', cpu, 'cpu-ineq')).manifest.diagnostics;
    expect(late.losses.math).toBeLessThan(base.losses.math);
    expect(late.losses.code).toBeLessThan(base.losses.code);
    expect(late.losses.general).toBeGreaterThan(base.losses.general);
    expect(late.contamination_mass).toBeLessThan(base.contamination_mass);
  });
});

describe.skipIf(!gpu.ctx)(`tokenmix mix on the GPU (${gpu.label})`, () => {
  it('fixture corpus with sweep, optimize and materialized plan: byte-identical outputs to the CPU', async () => {
    const config = new URL('../fixtures/corpus/mix.json', import.meta.url).pathname;
    const outs = { cpu: join(work, 'fixture-cpu'), gpu: join(work, 'fixture-gpu') };
    const onCpu = await mix({ configPath: config, outDir: outs.cpu, backend: { kind: 'cpu', reason: 'test' } });
    const onGpu = await mix({ configPath: config, outDir: outs.gpu, backend: { kind: 'gpu', ctx: gpu.ctx! } });
    if (onCpu.status !== 'complete' || onGpu.status !== 'complete') throw new Error('mix did not complete');
    expect(onGpu.manifest.sweep?.pareto.length).toBeGreaterThan(0);
    expect(onGpu.manifest.sampling_plan?.entries).toBeGreaterThan(0);
    const files = ['manifest.json', ...onCpu.manifest.outputs.map((o) => o.path)];
    for (const file of files) expect(readFileSync(join(outs.gpu, file)).equals(readFileSync(join(outs.cpu, file))), file).toBe(true);
  });
  it.each(['baseline', 'curated_late'] as const)('%s: same numbers, byte-identical manifest', async (scenario) => {
    const onGpu = await run(scenario, { kind: 'gpu', ctx: gpu.ctx! }, 'gpu');
    expectToy(onGpu.manifest, onGpu.kept, scenario, 1e-9);
    const onCpu = await run(scenario, { kind: 'cpu', reason: 'test' }, 'cpu-cmp');
    expect(onGpu.text).toBe(onCpu.text);
  });
});

describe('the histogram pass tokenizes on the workers (issue 9)', () => {
  const cpu: Backend = { kind: 'cpu', reason: 'test' };
  const fixtures = new URL('../fixtures/corpus/', import.meta.url).pathname;
  /** The fixture's mix config with `tokenizer` set, its paths made absolute. */
  function fixtureConfig(tokenizer: string): string {
    const config = JSON.parse(readFileSync(join(fixtures, 'mix.json'), 'utf8'));
    config.tokenizer = tokenizer;
    config.inputs = config.inputs.map((i: { path: string }) => ({ ...i, path: join(fixtures, i.path) }));
    config.evals = Object.fromEntries(Object.entries(config.evals as Record<string, string>).map(([k, v]) => [k, join(fixtures, v)]));
    const path = join(work, `fixture-${tokenizer}.json`);
    writeFileSync(path, JSON.stringify(config));
    return path;
  }

  it.each(['words', 'cl100k_base'])('%s: byte-identical outputs and retained cache with 1, 2 and 3 workers', async (tokenizer) => {
    const configPath = fixtureConfig(tokenizer);
    const outs = [1, 2, 3].map((workers) => ({ workers, dir: join(work, `hist-${tokenizer}-${workers}`) }));
    const results = [];
    for (const { workers, dir } of outs) results.push(await mix({ configPath, outDir: dir, backend: cpu, workers }));
    const [one] = results;
    if (one.status !== 'complete') throw new Error('mix did not complete');
    if (tokenizer === 'cl100k_base') expect(one.manifest.mixture.vocab_size).toBe(100277);
    else expect(one.manifest.mixture.vocab_size).toBeGreaterThan(100);
    const files = (dir: string) => [...readdirSync(dir, { recursive: true }) as string[]]
      .filter((f) => (f.startsWith('.tokenmix/retained') || !f.startsWith('.tokenmix')) && !f.endsWith('run.json'))
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort();
    const names = files(outs[0].dir);
    expect(names).toEqual(expect.arrayContaining(['manifest.json']));
    expect(names.some((f) => f.startsWith('.tokenmix/retained'))).toBe(true);
    for (const { dir } of outs.slice(1)) {
      expect(files(dir)).toEqual(names);
      for (const f of names) expect(readFileSync(join(dir, f)).equals(readFileSync(join(outs[0].dir, f))), f).toBe(true);
    }
  });

  it('retainedCorpus takes each batch back in order from encodeBatch, wherever it ran', async () => {
    const configPath = fixtureConfig('words');
    const dir = join(work, 'hist-direct');
    const first = await mix({ configPath, outDir: dir, backend: cpu, workers: 1 });
    if (first.status !== 'complete') throw new Error('mix did not complete');
    const checked = JSON.parse(readFileSync(configPath, 'utf8'));
    const inputs = await resolveInputs(checked.inputs, fixtures);
    const tokenizer = await loadTokenizer('words');
    const base = { inputs, fields: { id: 'id', text: 'text', source: 'source' }, outDir: dir, sources: first.manifest.sources, tokenizer, evals: [], backend: cpu, batchSize: 7 };
    const here = await retainedCorpus(base);
    // Batches that finish out of order (later ones first) must count the same.
    let calls = 0;
    const shuffled = await retainedCorpus({
      ...base,
      inFlight: 5,
      encodeBatch: async (texts) => {
        const delay = 20 - 4 * (calls++ % 5);
        await new Promise((r) => setTimeout(r, delay));
        return encodeTexts(tokenizer, texts);
      },
    });
    expect(calls).toBeGreaterThan(5);
    expect(shuffled.vocabulary).toEqual(here.vocabulary);
    expect(shuffled.docTokens).toEqual(here.docTokens);
    expect(Array.from(shuffled.counts)).toEqual(Array.from(here.counts));
    expect(shuffled.counts.reduce((a, b) => a + b, 0)).toBe(here.docTokens.flat().reduce((a, b) => a + b, 0));
  });
});
