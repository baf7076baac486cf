/**
 * Names that are JavaScript built-ins (`__proto__`, `constructor`, `toString`, ...) as
 * sources (in records and from `{source}` path captures), ids, eval names, thresholds and
 * `fit` CSV columns, through the CLI: every count exact, no source vanishes, no crash.
 * Expected counts come from how the corpus below is built, not from tokenmix.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectSuccess, spawnCli, tempDir } from './cli.js';

const HOSTILE = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__', 'isPrototypeOf'];
const PER_SOURCE = 6;
const CAPTURED = 4; // records per captured directory (data/__proto__/, data/constructor/)
const temp = tempDir();
afterAll(() => temp.cleanup());

/** Distinct texts (so nothing is an exact duplicate): document k of source s. */
const textOf = (s: number, k: number) => `document ${s} ${k} ` + Array.from({ length: 20 }, (_, i) => `w${(s * 31 + k * 7 + i) % 53}`).join(' ');

/** Expected records per source: PER_SOURCE from a.jsonl, plus CAPTURED for the two captured names. */
const expectedPerSource = Object.fromEntries(
  HOSTILE.map((name) => [name, PER_SOURCE + (name === '__proto__' || name === 'constructor' ? CAPTURED : 0)]),
);
const expectedTotal = HOSTILE.length * PER_SOURCE + 2 * CAPTURED;

beforeAll(() => {
  const lines: string[] = [];
  HOSTILE.forEach((source, s) => {
    for (let k = 0; k < PER_SOURCE; k++) {
      // The first record of each source has the bare hostile name as its id.
      lines.push(JSON.stringify({ id: k === 0 ? source : `${source}-${k}`, source, score: 0.5 + k / 100, text: textOf(s, k) }));
    }
  });
  writeFileSync(join(temp.dir, 'a.jsonl'), `${lines.join('\n')}\n`);
  for (const name of ['__proto__', 'constructor']) {
    mkdirSync(join(temp.dir, 'data', name), { recursive: true });
    const records = Array.from({ length: CAPTURED }, (_, k) => JSON.stringify({ id: `cap-${name}-${k}`, score: 0.9, text: textOf(100 + name.length, k) }));
    writeFileSync(join(temp.dir, 'data', name, 'x.jsonl'), `${records.join('\n')}\n`);
  }
  for (const name of ['__proto__', 'constructor']) writeFileSync(join(temp.dir, `${name}.txt`), textOf(7, 7));
  const weights = Object.fromEntries(HOSTILE.map((name) => [name, 1]));
  writeFileSync(join(temp.dir, 'mix.json'), JSON.stringify({
    inputs: ['a.jsonl', { path: 'data/{source}/*.jsonl' }],
    fields: { quality: 'score' },
    // Thresholds below every score: nothing is dropped, but each name is looked up.
    filters: { quality: { field: 'score', thresholds: { ['__proto__']: 0.1, constructor: 0.1, toString: 0.1 }, top_fraction: { valueOf: 1 } } },
    dedup: { exact: true },
    evals: { ['__proto__']: '__proto__.txt', constructor: 'constructor.txt' },
    eval_weights: { ['__proto__']: 1, constructor: 1 },
    schedule: [{ fraction: 1, weights }],
    budget_tokens: 4000,
    materialize: { format: 'jsonl', docs_per_shard: 100 },
    seed: 3,
  }));
});

interface StageJson { name: string; docs_in: number; docs_out: number; per_source: Record<string, { docs_in: number; docs_out: number }> }
const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
  totals: { input: number; kept: number; quarantined: number };
  stages: StageJson[];
  mixture?: { average_weights: Record<string, number> };
  diagnostics?: { losses: Record<string, number> };
};

function expectEverySource(stage: StageJson): void {
  expect(Object.keys(stage.per_source).sort()).toEqual([...HOSTILE].sort());
  for (const name of HOSTILE) expect(stage.per_source[name].docs_in, name).toBe(expectedPerSource[name]);
  expect(stage.docs_in).toBe(expectedTotal);
}

describe('hostile names through the CLI', () => {
  it('curate (a real child process): every source counted, nothing lost', () => {
    const out = join(temp.dir, 'curate');
    const result = spawnCli(['curate', '--config', join(temp.dir, 'mix.json'), '--out', out, '--backend', 'cpu']);
    expectSuccess(result);
    const manifest = manifestOf(out);
    expect(manifest.totals).toMatchObject({ input: expectedTotal, kept: expectedTotal, quarantined: 0 });
    for (const stage of manifest.stages) expectEverySource(stage);
  });

  it('mix: weights and losses under every hostile name', async () => {
    const out = join(temp.dir, 'mix');
    expectSuccess(await cli(['mix', '--config', join(temp.dir, 'mix.json'), '--out', out, '--backend', 'cpu']));
    const manifest = manifestOf(out);
    expectEverySource(manifest.stages[0]);
    const weights = manifest.mixture!.average_weights;
    expect(Object.keys(weights).sort()).toEqual([...HOSTILE].sort());
    for (const name of HOSTILE) expect(weights[name]).toBeCloseTo(1 / HOSTILE.length, 12);
    expect(Object.keys(manifest.diagnostics!.losses).sort()).toEqual(['__proto__', 'constructor']);
    for (const loss of Object.values(manifest.diagnostics!.losses)) expect(Number.isFinite(loss)).toBe(true);
  });

  it('dedup: per-source counts keep every name', async () => {
    const out = join(temp.dir, 'dedup');
    expectSuccess(await cli(['dedup', '--input', join(temp.dir, 'a.jsonl'), '--out', out, '--backend', 'cpu']));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { sources: Record<string, { docs_in: number }> };
    expect(Object.keys(manifest.sources).sort()).toEqual([...HOSTILE].sort());
    for (const name of HOSTILE) expect(manifest.sources[name].docs_in).toBe(PER_SOURCE);
  });

  it('fit: CSV columns and eval names that are built-ins', async () => {
    const sources = ['__proto__', 'constructor', 'toString'];
    // Losses from a known linear law, so the fit is well posed: loss:e = sum_i c_ei r_i.
    const coefficients = { ['__proto__']: [3, 2, 4], hasOwnProperty: [2.5, 3.5, 2] };
    const rows = Array.from({ length: 10 }, (_, n) => {
      const raw = [1 + ((n * 3) % 5), 1 + ((n * 7) % 4), 1 + ((n * 5) % 3)];
      const total = raw.reduce((a, b) => a + b, 0);
      const r = raw.map((x) => x / total);
      const losses = Object.values(coefficients).map((c) => c.reduce((sum, ci, i) => sum + ci * r[i], 0));
      return [`run${n}`, ...r.map((x) => x.toFixed(6)), ...losses.map((x) => x.toFixed(6))].join(',');
    });
    const csv = join(temp.dir, 'fit.csv');
    writeFileSync(csv, [['run', ...sources.map((s) => `w:${s}`), ...Object.keys(coefficients).map((e) => `loss:${e}`)].join(','), ...rows].join('\n') + '\n');
    const out = join(temp.dir, 'fit');
    const result = await cli(['fit', '--experiments', csv, '--out', out, '--restarts', '2', '--eval-weights', '__proto__=1,hasOwnProperty=1', '--min-weight', 'constructor=0.1']);
    expectSuccess(result);
    const fit = JSON.parse(readFileSync(join(out, 'fit.json'), 'utf8')) as { options: { minWeights: Record<string, number>; evalWeights: Record<string, number> } };
    expect(fit.options.minWeights).toEqual({ constructor: 0.1 });
    expect(Object.keys(fit.options.evalWeights).sort()).toEqual(['__proto__', 'hasOwnProperty']);
    const text = readFileSync(join(out, 'fit.json'), 'utf8');
    for (const name of [...sources, 'hasOwnProperty']) expect(text).toContain(`"${name}"`);
  });
});
