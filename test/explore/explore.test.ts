/**
 * The explorer's engine (src/explore) against `tokenmix mix` itself: for the seed toy's two
 * scenarios and for the fixture corpus's mix config (quality thresholds + top fraction,
 * heuristics, contamination, exact dedup, two-stage schedule), the in-memory run on the same
 * records gives the manifest's numbers exactly (after the manifest's 15-digit rounding) — on
 * the CPU, and on the GPU (threshold and histogram kernels) where an adapter exists.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mix, type MixManifest } from '../../src/pipeline/mix.js';
import type { Backend } from '../../src/backend.js';
import { WordsTokenizer } from '../../src/text/words.js';
import { ExploreCorpus } from '../../src/explore/corpus.js';
import { ExploreSession, parseExploreConfig } from '../../src/explore/session.js';
import { configFromSettings, settingsFromConfig } from '../../src/explore/settings.js';
import { openTestGpu } from '../helpers/gpu.js';
import { expectSameAsManifest, loadRun } from './helpers.js';

const toyConfigs = new URL('../../fixtures/toy/configs/', import.meta.url).pathname;
const corpusDir = new URL('../../fixtures/corpus/', import.meta.url).pathname;
const golden = JSON.parse(readFileSync(new URL('../../fixtures/toy/expected.json', import.meta.url), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'tokenmix-explore-'));
const gpu = await openTestGpu();
afterAll(() => {
  gpu.ctx?.destroy();
  rmSync(work, { recursive: true, force: true });
});
const cpu: Backend = { kind: 'cpu', reason: 'test' };

async function cliManifest(configPath: string, tag: string): Promise<MixManifest> {
  const result = await mix({ configPath, outDir: join(work, tag), backend: cpu });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  return result.manifest;
}

async function explore(configPath: string, backend: Backend) {
  const run = await loadRun(configPath);
  const session = new ExploreSession(new ExploreCorpus(run.records, run.evals, new WordsTokenizer()), backend);
  return { run, session, result: await session.run(run.config) };
}

/** mix.json without the parts that do not change the diagnostics (optimize, materialize), paths made absolute. */
function corpusMixConfig(): string {
  const raw = JSON.parse(readFileSync(join(corpusDir, 'mix.json'), 'utf8'));
  delete raw.optimize;
  delete raw.materialize;
  raw.inputs = raw.inputs.map((input: { path: string }) => ({ ...input, path: join(corpusDir, input.path) }));
  raw.evals = Object.fromEntries(Object.entries(raw.evals as Record<string, string>).map(([name, path]) => [name, join(corpusDir, path)]));
  const path = join(work, 'corpus-mix.json');
  writeFileSync(path, JSON.stringify(raw));
  return path;
}

describe('explorer engine = tokenmix mix (CPU)', () => {
  it.each(['baseline', 'curated_late'] as const)('toy %s: same diagnostics, and the seed numbers', async (scenario) => {
    const configPath = join(toyConfigs, `${scenario}.json`);
    const { run, result } = await explore(configPath, cpu);
    expectSameAsManifest(result, await cliManifest(configPath, `toy-${scenario}`));
    const expected = golden.scenarios[scenario];
    for (const [name, value] of Object.entries(expected.losses as Record<string, number>)) {
      expect(Math.abs(result.evaluation.losses[name] - value)).toBeLessThanOrEqual(1e-9);
    }
    expect(run.records.filter((_, i) => result.curation.keep[i] === 1).map((r) => r.id)).toEqual(expected.kept_docs);
  });

  it('fixture corpus mix config (thresholds, top fraction, heuristics, contamination, exact dedup, anneal)', async () => {
    const configPath = corpusMixConfig();
    const { result } = await explore(configPath, cpu);
    const manifest = await cliManifest(configPath, 'corpus');
    expect(result.curation.thresholds).toEqual(manifest.quality!.thresholds);
    expectSameAsManifest(result, manifest);
  });

  it('fixture corpus mix config with near dedup (dedup.near): same diagnostics as the CLI', async () => {
    const raw = JSON.parse(readFileSync(corpusMixConfig(), 'utf8'));
    raw.dedup = { ...raw.dedup, near: { threshold: 0.8, ngram: 5, num_hashes: 128 } };
    const configPath = join(work, 'corpus-mix-near.json');
    writeFileSync(configPath, JSON.stringify(raw));
    const { result } = await explore(configPath, cpu);
    const manifest = await cliManifest(configPath, 'corpus-near');
    expect(manifest.stages.map((s) => s.name)).toContain('near_dedup');
    expectSameAsManifest(result, manifest);
  });

  it('toy with best-quality exact dedup and contamination "drop": same kept documents and diagnostics', async () => {
    const raw = JSON.parse(readFileSync(join(toyConfigs, 'baseline.json'), 'utf8'));
    raw.inputs = [{ path: join(toyConfigs, '../corpus.jsonl') }];
    raw.evals = Object.fromEntries(Object.entries(raw.evals as Record<string, string>).map(([name, path]) => [name, join(toyConfigs, path)]));
    raw.dedup = { exact: true, keep: 'best-quality' };
    raw.contamination.action = 'drop';
    const path = join(work, 'toy-best.json');
    writeFileSync(path, JSON.stringify(raw));
    const { run, result } = await explore(path, cpu);
    // web_a (0.65) and web_c (0.70) have the same text: best-quality keeps web_c; edu_b is eval-like and dropped.
    expect(run.records.filter((_, i) => result.curation.keep[i] === 1).map((r) => r.id)).toEqual(['web_b', 'web_c', 'edu_a', 'code_a', 'code_b']);
    expectSameAsManifest(result, await cliManifest(path, 'toy-best'));
  });

  it('moving weights and the budget re-evaluates without re-curating; new thresholds re-curate, still equal', async () => {
    const { run, session } = await explore(join(toyConfigs, 'baseline.json'), cpu);
    const sources = session.corpus.sources;
    const settings = settingsFromConfig(run.config, sources, { name: 'corpus.jsonl' });
    settings.weights.web = 0.5;
    settings.budgetTokens = 400;
    const moved = await session.run(parseExploreConfig(configFromSettings(settings)));
    expect(moved.timings.curateMs).toBe(0);
    settings.thresholds.edu = 0.6;
    settings.exactDedup = true;
    settings.anneal = { fraction: 0.25, weights: { web: 0.2, edu: 0.4, code: 0.4 } };
    const raw = configFromSettings(settings);
    const curated = await session.run(parseExploreConfig(raw));
    // The same settings as a CLI config (inputs and evals pointed at the toy's files).
    raw.inputs = [{ path: join(toyConfigs, '../corpus.jsonl') }];
    raw.evals = Object.fromEntries(['code', 'general', 'math'].map((name) => [name, join(toyConfigs, `../evals/${name}.txt`)]));
    const path = join(work, 'toy-moved.json');
    writeFileSync(path, JSON.stringify(raw));
    expectSameAsManifest(curated, await cliManifest(path, 'toy-moved'));
  });
});

describe('explorer settings', () => {
  it.each(['baseline', 'curated_late'] as const)('toy %s: controls → config → the same run config (inputs and evals aside)', (scenario) => {
    const original = parseExploreConfig(JSON.parse(readFileSync(join(toyConfigs, `${scenario}.json`), 'utf8')));
    const settings = settingsFromConfig(original, ['code', 'edu', 'web'], { name: '../corpus.jsonl' });
    const again = parseExploreConfig(configFromSettings(settings));
    const { inputs: _i, evals: _e, ...curate } = again.curate;
    const { inputs: _oi, evals: _oe, ...originalCurate } = original.curate;
    expect(curate).toEqual(originalCurate);
    expect(again.mixture).toEqual(original.mixture);
    expect(Object.keys(again.curate.evals)).toEqual(Object.keys(original.curate.evals));
  });
});

describe.skipIf(!gpu.ctx)(`explorer engine on the GPU (${gpu.label})`, () => {
  it.each(['baseline', 'curated_late'] as const)('toy %s: threshold and histogram kernels on the GPU, same diagnostics', async (scenario) => {
    const configPath = join(toyConfigs, `${scenario}.json`);
    const { result } = await explore(configPath, { kind: 'gpu', ctx: gpu.ctx! });
    expectSameAsManifest(result, await cliManifest(configPath, `toy-gpu-${scenario}`));
  });

  it('fixture corpus mix config on the GPU', async () => {
    const configPath = corpusMixConfig();
    const { result } = await explore(configPath, { kind: 'gpu', ctx: gpu.ctx! });
    expectSameAsManifest(result, await cliManifest(configPath, 'corpus-gpu'));
  });
});
