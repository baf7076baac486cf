/**
 * Issue 13 part 3: iterating on a mixture without re-curating. The whole config is checked
 * before curation; a mixture-only change (or a corrected mixture key after a failed run) reuses
 * the curation and the cached histograms and writes the same bytes as a fresh run;
 * `mix --from DIR` re-mixes a curated directory; `optimize.law` optimizes a law from `tokenmix fit`.
 */
import { cpSync, existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fitCommand } from '../../src/cli/fit.js';
import { main } from '../../src/cli/main.js';
import { mix } from '../../src/pipeline/mix.js';
import { CPU, runComplete, snapshot, tempDir } from './helpers.js';
import { fixtureMixConfig } from './mix-fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const temp = tempDir('tokenmix-mix-iterate-');
afterAll(() => temp.cleanup());

const late = (math: number) => [
  { fraction: 0.7, weights: { web: 0.6, code: 0.3, math: 0.1 } },
  { fraction: 0.3, weights: { web: 0.2, code: 0.8 - math, math } },
];

async function mixComplete(configPath: string, outDir: string, extra: { from?: string; log?: (t: string) => void } = {}) {
  const result = await mix({ configPath, outDir, backend: CPU, ...extra });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  return result;
}

describe('mixture-only changes reuse the curation', () => {
  it('changed schedule and materialize: curation and histograms reused, bytes equal a fresh run, and back again', async () => {
    const a = fixtureMixConfig(temp.dir, 'a.json', { schedule: late(0.3), materialize: undefined });
    const b = fixtureMixConfig(temp.dir, 'b.json', { schedule: late(0.5), budget_tokens: 150000, materialize: { format: 'jsonl', docs_per_shard: 400 } });
    const out = join(temp.dir, 'iterate');
    expect((await mixComplete(a, out)).reused).toEqual({ curation: false, histograms: false });
    const second = await mixComplete(b, out);
    expect(second.reused).toEqual({ curation: true, histograms: true });
    const freshB = join(temp.dir, 'fresh-b');
    await mixComplete(b, freshB);
    expect(snapshot(out)).toEqual(snapshot(freshB));
    // Back to A: the materialized plan of B does not linger.
    await mixComplete(a, out);
    const freshA = join(temp.dir, 'fresh-a');
    await mixComplete(a, freshA);
    expect(snapshot(out)).toEqual(snapshot(freshA));
    expect(existsSync(join(out, 'mixed'))).toBe(false);
  });

  it('a mixture key that fails after curation, once corrected, is not refused and does not re-curate', async () => {
    const out = join(temp.dir, 'corrected');
    const typo = fixtureMixConfig(temp.dir, 'typo.json', { schedule: [{ fraction: 1, weights: { webb: 1, code: 1 } }] });
    // Source names are only known once the records are read, so this one fails after curation.
    await expect(mix({ configPath: typo, outDir: out, backend: CPU })).rejects.toThrow(/unknown source "webb"/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    const fixed = fixtureMixConfig(temp.dir, 'typo.json', { schedule: [{ fraction: 1, weights: { web: 1, code: 1 } }] });
    const rerun = await mixComplete(fixed, out);
    expect(rerun.reused.curation).toBe(true);
    const fresh = join(temp.dir, 'corrected-fresh');
    await mixComplete(fixed, fresh);
    expect(snapshot(out)).toEqual(snapshot(fresh));
    // A damaged histogram cache is rebuilt, not trusted.
    const arrays = join(out, '.tokenmix', 'retained', 'arrays.f64');
    writeFileSync(arrays, readFileSync(arrays).subarray(0, 800));
    expect((await mixComplete(fixed, out)).reused).toEqual({ curation: true, histograms: false });
    expect(snapshot(out)).toEqual(snapshot(fresh));
  });

  it.each([
    ['a negative stage weight', { schedule: [{ fraction: 1, weights: { web: -1 } }] }, /schedule\[0\]\.weights\.web" must be a number >= 0/],
    ['an unknown materialize format', { materialize: { format: 'megatorn' } }, /materialize\.format" must be "jsonl", "parquet", "megatron", "tokens"/],
    ['eod_token with jsonl', { materialize: { format: 'jsonl', eod_token: 3 } }, /materialize\.eod_token/],
    ['a missing fitted law', { optimize: { law: 'no-such-fit.json' } }, /optimize\.law: cannot read .*no-such-fit\.json/],
    ['eval_weights naming no eval set', { eval_weights: { wbe: 1 } }, /eval_weights names "wbe"/],
  ])('%s is reported before any curation starts', async (name, overrides, message) => {
    const config = fixtureMixConfig(temp.dir, 'bad.json', overrides);
    const out = join(temp.dir, `bad-${name.replace(/\W+/g, '-')}`);
    await expect(mix({ configPath: config, outDir: out, backend: CPU })).rejects.toThrow(message);
    expect(existsSync(out)).toBe(false);
  });

  it('tokenmix curate checks the mixture keys of its config too', async () => {
    const config = fixtureMixConfig(temp.dir, 'bad-curate.json', { materialize: { format: 'megatorn' } });
    const out = join(temp.dir, 'bad-curate');
    await expect(runComplete(config, out)).rejects.toThrow(/bad-curate\.json: config: "materialize\.format" must be/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('tokenmix mix --from DIR', () => {
  it('re-mixes a curated directory into another one, naming the curated files from there', async () => {
    const config = fixtureMixConfig(temp.dir, 'from.json', { schedule: late(0.4) });
    const curated = join(temp.dir, 'curated');
    await runComplete(config, curated);
    const out = join(temp.dir, 'remixed');
    const result = await mixComplete(config, out, { from: curated });
    expect(result.reused.curation).toBe(true);
    const fresh = join(temp.dir, 'from-fresh');
    const direct = await mixComplete(config, fresh);
    expect(result.manifest.diagnostics).toEqual(direct.manifest.diagnostics);
    expect(result.manifest.mixture).toEqual(direct.manifest.mixture);
    const mixed = (path: string) => path === 'sampling_plan.jsonl' || path.startsWith('mixed/');
    const expected = direct.manifest.outputs.map((o) => (mixed(o.path) ? o.path : `../curated/${o.path}`)).sort();
    expect(result.manifest.outputs.map((o) => o.path)).toEqual(expected);
    expect(expected.filter(mixed).length).toBeGreaterThan(1);
    for (const o of result.manifest.outputs) expect(existsSync(join(out, o.path)), o.path).toBe(true);
  });

  it('CLI: --out defaults to the curated directory; bad combinations are one-line usage errors (exit 2)', async () => {
    const config = fixtureMixConfig(temp.dir, 'cli.json', { schedule: late(0.2) });
    const curated = join(temp.dir, 'cli-curated');
    await runComplete(config, curated);
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t), interactive: false };
    expect(await main(['mix', '--from', curated, '--config', config, '--backend', 'cpu', '--no-report'], io)).toBe(0);
    // A `curate` output has no histogram cache yet: the first re-mix builds it, the next reads it.
    expect(lines).toContain('tokenmix: building per-source token histograms of the retained documents');
    expect(lines).toContain(`manifest: ${join(curated, 'manifest.json')}`);
    lines.length = 0;
    expect(await main(['mix', '--from', curated, '--config', config, '--backend', 'cpu', '--no-report'], io)).toBe(0);
    expect(lines).toContain('tokenmix: reusing the cached token histograms of the retained documents');
    lines.length = 0;
    expect(await main(['mix', '--from', curated, '--config', config, '--rank', '0', '--world-size', '2'], io)).toBe(2);
    expect(lines).toEqual(['tokenmix: mix --from re-mixes a curated directory: --rank/--world-size do not apply (they split curation)']);
    lines.length = 0;
    const bad = fixtureMixConfig(temp.dir, 'cli-bad.json', { materialize: { format: 'megatron', eod_token: -1 } });
    expect(await main(['mix', '--config', bad, '--out', join(temp.dir, 'cli-bad'), '--backend', 'cpu'], io)).toBe(2);
    expect(lines).toEqual([`tokenmix: ${bad}: config: "materialize.eod_token" must be an integer token id >= 0 (got -1)`]);
  });

  it('refuses a directory curated with other curation keys, or whose inputs changed since', async () => {
    const corpus = join(temp.dir, 'corpus-copy');
    cpSync(join(root, 'fixtures', 'corpus'), corpus, { recursive: true });
    const raw = JSON.parse(readFileSync(join(corpus, 'mix.json'), 'utf8'));
    delete raw.sweep;
    delete raw.optimize;
    writeFileSync(join(corpus, 'quick.json'), JSON.stringify(raw));
    writeFileSync(join(corpus, 'no-dedup.json'), JSON.stringify({ ...raw, dedup: { exact: false } }));
    const curated = join(temp.dir, 'curated-copy');
    await runComplete(join(corpus, 'quick.json'), curated);
    await expect(mix({ configPath: join(corpus, 'no-dedup.json'), outDir: join(temp.dir, 'x'), backend: CPU, from: curated })).rejects.toThrow(
      /curated with a different "dedup"/,
    );
    appendFileSync(join(corpus, 'web-extra.jsonl'), '{"id": "late", "source": "web", "text": "a record added after curation", "quality": 0.9}\n');
    await expect(mix({ configPath: join(corpus, 'quick.json'), outDir: join(temp.dir, 'y'), backend: CPU, from: curated })).rejects.toThrow(
      /inputs are not the bytes it was curated from/,
    );
    await expect(mix({ configPath: join(corpus, 'quick.json'), outDir: join(temp.dir, 'z'), backend: CPU, from: join(temp.dir, 'nothing') })).rejects.toThrow(
      /no manifest\.json there/,
    );
  });
});

describe('optimize.law: a law from tokenmix fit as the objective', () => {
  /** Runs of a known exponential law per domain over the fixture's sources (hand-picked mixtures). */
  function writeExperiments(path: string, sources: string[]) {
    const mixtures = [
      [0.6, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6], [0.4, 0.4, 0.2], [0.4, 0.2, 0.4],
      [0.2, 0.4, 0.4], [0.34, 0.33, 0.33], [0.5, 0.3, 0.2], [0.3, 0.5, 0.2], [0.25, 0.25, 0.5],
    ];
    const laws = { general: { c: 2, k: 1.5, t: [-1.2, 0.4, 0.8] }, code: { c: 1.5, k: 2, t: [0.9, -1.5, 0.6] } };
    const lines = [`run,${sources.map((s) => `w:${s}`).join(',')},loss:general,loss:code`];
    mixtures.forEach((r, n) => {
      const loss = (l: { c: number; k: number; t: number[] }) => (l.c + l.k * Math.exp(l.t.reduce((s, t, i) => s + t * r[i], 0))).toFixed(6);
      lines.push(`r${n},${r.join(',')},${loss(laws.general)},${loss(laws.code)}`);
    });
    writeFileSync(path, `${lines.join('\n')}\n`);
  }

  async function fit(name: string, sources: string[]) {
    const csv = join(temp.dir, `${name}.csv`);
    writeExperiments(csv, sources);
    const out = join(temp.dir, `${name}-fit`);
    const io = { out: () => {}, err: () => {}, interactive: false };
    expect(await fitCommand(['--experiments', csv, '--out', out], io)).toBe(0);
    return join(out, 'fit.json');
  }

  it('mix reaches the optimum tokenmix fit reports for the same law', async () => {
    const fitFile = await fit('law', ['web', 'code', 'math']);
    const fitted = JSON.parse(readFileSync(fitFile, 'utf8'));
    const config = fixtureMixConfig(temp.dir, 'law.json', { optimize: { law: fitFile } });
    const { manifest } = await mixComplete(config, join(temp.dir, 'law-mix'));
    const optimized = manifest.optimized as { objective: string; weights: Record<string, number>; predicted_objective: number; law: { sha256: string } };
    expect(optimized.objective).toBe('law');
    for (const s of ['web', 'code', 'math']) expect(Math.abs(optimized.weights[s] - fitted.optimum.weights[s]), s).toBeLessThan(1e-6);
    expect(Math.abs(optimized.predicted_objective - fitted.optimum.predictedObjective)).toBeLessThan(1e-9);
  });

  it('a law fitted on other sources is refused, naming them, before the mixture is optimized', async () => {
    const fitFile = await fit('other-law', ['web', 'code', 'books']);
    const config = fixtureMixConfig(temp.dir, 'other-law.json', { optimize: { law: fitFile } });
    await expect(mix({ configPath: config, outDir: join(temp.dir, 'other-law-mix'), backend: CPU })).rejects.toThrow(
      /the law has no term for "math"; it was fitted on "books"/,
    );
  });
});
