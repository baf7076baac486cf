/**
 * SPEC §5 mixture-law fitting: parameters of the exponential law recovered from seeded synthetic
 * runs (LOO RMSE at the noise level), the exponential law beating the linear baseline held out on
 * curved data, exact recovery of a linear law, CSV parsing and its located errors, the law
 * optimizer against a brute-force grid under constraints, and the `tokenmix fit` command on the
 * committed example (fixtures/fit, regenerated here from its script).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { exampleCsv, SOURCES, TRUTH } from '../../fixtures/fit/make-example.js';
import { main } from '../../src/cli/main.js';
import { fitMixtureLaws, parseExperimentsCsv, type ExperimentTable } from '../../src/mixture/index.js';

interface Law {
  c: number;
  k: number;
  t: number[];
}
const lawAt = (law: Law, r: ArrayLike<number>) => law.c + law.k * Math.exp(law.t.reduce((s, ti, i) => s + ti * r[i], 0));

/** N runs with Dirichlet(1) weights and losses from `laws` (+ Gaussian noise of sd `noise`), seeded. */
function syntheticTable(seed: number, numRuns: number, laws: Law[], noise: number, model = lawAt): ExperimentTable {
  const random = rng(seed);
  const K = laws[0].t.length;
  const E = laws.length;
  const weights = new Float64Array(numRuns * K);
  const losses = new Float64Array(numRuns * E);
  for (let n = 0; n < numRuns; n++) {
    const draws = Array.from({ length: K }, () => -Math.log(1 - random.next()));
    const total = draws.reduce((a, b) => a + b, 0);
    draws.forEach((d, i) => (weights[n * K + i] = d / total));
    laws.forEach((law, j) => (losses[n * E + j] = model(law, weights.subarray(n * K, (n + 1) * K)) + noise * random.normal()));
  }
  return {
    sourceNames: Array.from({ length: K }, (_, i) => `s${i}`),
    evalNames: Array.from({ length: E }, (_, j) => `e${j}`),
    numRuns,
    weights,
    losses,
    lines: Array.from({ length: numRuns }, (_, n) => n + 2),
  };
}

describe('fitting the exponential law', () => {
  const laws: Law[] = [
    { c: 2.0, k: 0.8, t: [1.5, -0.5, -1.0] },
    { c: 1.0, k: 0.5, t: [-1.0, 2.0, -1.0] },
  ];

  it('recovers known parameters exactly from noise-free runs (K = 3, 12 runs)', () => {
    const fit = fitMixtureLaws(syntheticTable(1, 12, laws, 0), { seed: 1 });
    fit.domains.forEach((domain, j) => {
      expect(domain.exponential.c).toBeCloseTo(laws[j].c, 6);
      expect(domain.exponential.k).toBeCloseTo(laws[j].k, 6);
      laws[j].t.forEach((t, i) => expect(domain.exponential.t[`s${i}`]).toBeCloseTo(t, 6));
      expect(domain.exponential.looRmse).toBeLessThan(1e-6);
    });
  });

  const noise = 1e-3;
  const noisy = fitMixtureLaws(syntheticTable(2, 40, laws, noise), { seed: 2 });
  it(`recovers them from noisy runs (sd ${noise}, 40 runs) with train and LOO RMSE at the noise level`, () => {
    noisy.domains.forEach((domain, j) => {
      // Tolerances: with 40 runs the standard errors here are ~1e-3 (c, k) and ~4e-3 (t).
      expect(Math.abs(domain.exponential.c - laws[j].c)).toBeLessThan(0.02);
      expect(Math.abs(domain.exponential.k - laws[j].k)).toBeLessThan(0.02);
      laws[j].t.forEach((t, i) => expect(Math.abs(domain.exponential.t[`s${i}`] - t)).toBeLessThan(0.03));
      // RMSE of 40 residuals: about noise·sqrt(36/40) with a sampling sd of ~0.11·noise.
      expect(domain.exponential.trainRmse).toBeGreaterThan(0.6 * noise);
      expect(domain.exponential.trainRmse).toBeLessThan(1.5 * noise);
      expect(domain.exponential.looRmse).toBeGreaterThan(domain.exponential.trainRmse);
      expect(domain.exponential.looRmse).toBeLessThan(1.8 * noise);
    });
  });

  it('beats the linear baseline held out on curved data (LOO RMSE 10× lower)', () => {
    for (const domain of noisy.domains) expect(domain.exponential.looRmse * 10).toBeLessThan(domain.linear.looRmse);
  });

  it('reports t in the mean-zero gauge whatever gauge generated the data', () => {
    const shifted = laws.map((law) => ({ c: law.c, k: law.k * Math.exp(-2), t: law.t.map((t) => t + 2) })); // same function on the simplex
    const fit = fitMixtureLaws(syntheticTable(1, 12, shifted, 0), { seed: 1 });
    fit.domains.forEach((domain, j) => {
      expect(domain.exponential.k).toBeCloseTo(laws[j].k, 6);
      expect(Object.values(domain.exponential.t).reduce((s, t) => s + t, 0)).toBeCloseTo(0, 12);
    });
  });

  it('the linear baseline recovers a linear law exactly (LOO RMSE ~ 0)', () => {
    const beta = [[3.1, 2.2, 2.7, 4.0]];
    const linear = (law: Law, r: ArrayLike<number>) => law.t.reduce((s, b, i) => s + b * r[i], 0);
    const fit = fitMixtureLaws(syntheticTable(3, 15, [{ c: 0, k: 0, t: beta[0] }], 0, linear), { seed: 3 });
    beta[0].forEach((b, i) => expect(fit.domains[0].linear.coefficients[`s${i}`]).toBeCloseTo(b, 10));
    expect(fit.domains[0].linear.looRmse).toBeLessThan(1e-10);
    // exp(t·r) with t -> 0 approximates a linear law to O(t²): small, not exact.
    expect(fit.domains[0].exponential.looRmse).toBeLessThan(1e-2);
  });

  it('is deterministic by seed', () => {
    const table = syntheticTable(4, 20, laws, 1e-2);
    expect(JSON.stringify(fitMixtureLaws(table, { seed: 9 }))).toBe(JSON.stringify(fitMixtureLaws(table, { seed: 9 })));
  });

  it('refuses too few runs and a source that no run uses', () => {
    expect(() => fitMixtureLaws(syntheticTable(5, 4, laws, 0))).toThrow(/4 runs for 3 sources.*at least 5 runs/);
    const table = syntheticTable(5, 10, laws, 0);
    for (let n = 0; n < 10; n++) table.weights[n * 3 + 1] = 0;
    expect(() => fitMixtureLaws(table)).toThrow(/source "s1" has weight 0 in every run/);
  });
});

describe('optimizing the fitted law', () => {
  /** min of sum_j lambda_j L_j over a grid of step 1/n on the capped simplex (K = 3), independent of the optimizer. */
  function gridMinimum(laws: Law[], lambdas: number[], lower: number[], upper: number[], n = 400): number {
    let best = Infinity;
    for (let a = 0; a <= n; a++) {
      for (let b = 0; a + b <= n; b++) {
        const r = [a / n, b / n, (n - a - b) / n];
        if (r.some((x, i) => x < lower[i] - 1e-12 || x > upper[i] + 1e-12)) continue;
        best = Math.min(best, laws.reduce((s, law, j) => s + lambdas[j] * lawAt(law, r), 0));
      }
    }
    return best;
  }
  const cases = [
    {
      name: 'convex (k > 0), no bounds',
      laws: [{ c: 2, k: 0.8, t: [1.5, -0.5, -1] }, { c: 1, k: 0.5, t: [-1, 2, -1] }],
      evalWeights: { e0: 1, e1: 1 },
      min: {},
      max: {},
    },
    {
      name: 'convex, min and max weights binding',
      laws: [{ c: 2, k: 0.8, t: [1.5, -0.5, -1] }, { c: 1, k: 0.5, t: [-1, 2, -1] }],
      evalWeights: { e0: 3, e1: 1 },
      min: { s0: 0.2 },
      max: { s2: 0.3 },
    },
    {
      // k < 0 makes both terms concave: local minima at the vertices s0 and s1 (F(s0) < F(s1) unbounded).
      name: 'non-convex (k < 0), two local minima, unbounded',
      laws: [{ c: 3, k: -0.5, t: [2, -2, 0] }, { c: 3, k: -0.4, t: [-2, 2, 0] }],
      evalWeights: { e0: 1, e1: 1 },
      min: {},
      max: {},
    },
    {
      // The same law with s0 <= 0.8: the global minimum moves to the other vertex (s1).
      name: 'non-convex (k < 0), max weight moves the global minimum',
      laws: [{ c: 3, k: -0.5, t: [2, -2, 0] }, { c: 3, k: -0.4, t: [-2, 2, 0] }],
      evalWeights: { e0: 1, e1: 1 },
      min: {},
      max: { s0: 0.8 },
    },
  ];
  for (const { name, laws, evalWeights, min, max } of cases) {
    it(`${name}: within bounds, no worse than a 1/400 grid or any observed run`, () => {
      const table = syntheticTable(6, 12, laws, 0);
      const fit = fitMixtureLaws(table, { seed: 6, evalWeights, minWeights: min, maxWeights: max });
      const lower = ['s0', 's1', 's2'].map((s) => (min as Record<string, number>)[s] ?? 0);
      const upper = ['s0', 's1', 's2'].map((s) => (max as Record<string, number>)[s] ?? 1);
      const r = ['s0', 's1', 's2'].map((s) => fit.optimum.weights[s]);
      expect(Math.abs(r.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      r.forEach((x, i) => {
        expect(x).toBeGreaterThanOrEqual(lower[i] - 1e-12);
        expect(x).toBeLessThanOrEqual(upper[i] + 1e-12);
      });
      const total = Object.values(evalWeights).reduce((a, b) => a + b, 0);
      const lambdas = Object.values(evalWeights).map((x) => x / total);
      expect(fit.optimum.predictedObjective).toBeLessThanOrEqual(gridMinimum(laws, lambdas, lower, upper) + 1e-9);
      // The fitted law is the true one here (noise-free), so its objective at every observed run within bounds is no lower.
      for (let n = 0; n < table.numRuns; n++) {
        const run = table.weights.subarray(n * 3, n * 3 + 3);
        if (Array.from(run).some((x, i) => x < lower[i] || x > upper[i])) continue;
        expect(fit.optimum.predictedObjective).toBeLessThanOrEqual(laws.reduce((s, law, j) => s + lambdas[j] * lawAt(law, run), 0) + 1e-12);
      }
      if (fit.bestObservedRun.withinBounds) expect(fit.optimum.predictedObjective).toBeLessThanOrEqual(fit.bestObservedRun.predictedObjective + 1e-12);
    });
  }

  it('rejects infeasible or unknown bounds', () => {
    const table = syntheticTable(6, 12, cases[0].laws, 0);
    expect(() => fitMixtureLaws(table, { minWeights: { s0: 0.6, s1: 0.6 } })).toThrow(/minimum weights sum to 1.2/);
    expect(() => fitMixtureLaws(table, { maxWeights: { web: 0.5 } })).toThrow(/unknown source "web"/);
  });
});

describe('experiments CSV', () => {
  it('reads weights and losses by column name, ignores other columns, renormalizes rows, handles quotes/CRLF/BOM/blank lines', () => {
    const text = '\uFEFFrun,loss:math,w:web,"w:co,de",note\r\n\r\na,2.5,3,1,"x ""y"""\r\nb,2.25e0,1,1,\r\n';
    const table = parseExperimentsCsv(text, 'runs.csv');
    expect(table.sourceNames).toEqual(['web', 'co,de']);
    expect(table.evalNames).toEqual(['math']);
    expect(Array.from(table.weights)).toEqual([0.75, 0.25, 0.5, 0.5]);
    expect(Array.from(table.losses)).toEqual([2.5, 2.25]);
    expect(table.lines).toEqual([3, 4]);
  });

  const errors = [
    { name: 'empty file', text: '\n\n', message: /^tokenmix: runs\.csv: empty file/ },
    { name: 'no weight column', text: 'run,loss:a\nx,1\n', message: /runs\.csv:1:1: no w:<source> column/ },
    { name: 'no loss column', text: 'w:a,w:b\n1,2\n', message: /runs\.csv:1:1: no loss:<eval> column/ },
    { name: 'duplicate column', text: 'w:a,loss:x,w:a\n1,2,3\n', message: /runs\.csv:1:12: column "w:a" appears twice/ },
    { name: 'empty name', text: 'w:a,w:,loss:x\n', message: /runs\.csv:1:5: column "w:" has no name/ },
    { name: 'no runs', text: 'w:a,loss:x\n', message: /runs\.csv: no runs after the header/ },
    { name: 'not a number', text: 'w:a,w:b,loss:x\n1,2,3\n1,abc,3\n', message: /runs\.csv:3:3: weight "w:b" is "abc", not a number/ },
    { name: 'empty loss cell', text: 'w:a,w:b,loss:x\n1,2,\n', message: /runs\.csv:2:5: loss "loss:x" is "", not a number/ },
    { name: 'negative weight', text: 'w:a,w:b,loss:x\n1,-2,3\n', message: /runs\.csv:2:3: weight "w:b" is negative/ },
    { name: 'all weights zero', text: 'w:a,w:b,loss:x\n0,0,3\n', message: /runs\.csv:2:1: every weight of this run is 0/ },
    { name: 'too few cells', text: 'w:a,w:b,loss:x\n1,2\n', message: /runs\.csv:2:4: 2 cells but the header has 3/ },
    { name: 'too many cells', text: 'w:a,w:b,loss:x\n1,2,3,4\n', message: /runs\.csv:2:7: 4 cells but the header has 3/ },
    { name: 'unterminated quote', text: 'w:a,w:b,loss:x\n1,"2,3\n', message: /runs\.csv:2:3: unterminated quoted cell/ },
    { name: 'text after quote', text: 'w:a,w:b,loss:x\n1,"2"x,3\n', message: /runs\.csv:2:6: text after a closing quote/ },
  ];
  for (const { name, text, message } of errors) {
    it(`error: ${name}`, () => expect(() => parseExperimentsCsv(text, 'runs.csv')).toThrow(message));
  }
});

describe('tokenmix fit on fixtures/fit/example.csv', () => {
  const example = new URL('../../fixtures/fit/example.csv', import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'tokenmix-fit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t), interactive: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('the committed example is what fixtures/fit/make-example.ts generates', () => {
    expect(readFileSync(example, 'utf8')).toBe(exampleCsv());
  });

  it('writes fit.json (parameters near the generating law, LOO RMSE, bounded optimum) and prints a summary', async () => {
    const args = ['fit', '--experiments', example.pathname, '--out', dir, '--seed', '3', '--min-weight', 'books=0.1', '--eval-weights', 'code=2,math=1,general=1'];
    const result = await run(args);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/exp LOO/);
    expect(result.out).toMatch(/optimized mixture \(exponential law\): web/);
    const text = readFileSync(join(dir, 'fit.json'), 'utf8');
    const fit = JSON.parse(text);
    expect(fit.numRuns).toBe(24);
    for (const domain of fit.domains) {
      const truth = TRUTH[domain.name];
      expect(Math.abs(domain.exponential.c - truth.c)).toBeLessThan(0.05);
      SOURCES.forEach((s, i) => expect(Math.abs(domain.exponential.t[s] - truth.t[i])).toBeLessThan(0.1));
      expect(domain.exponential.looRmse).toBeLessThan(0.006); // noise sd 0.003
      expect(domain.exponential.looRmse).toBeLessThan(domain.linear.looRmse);
    }
    expect(fit.optimum.weights.books).toBeGreaterThanOrEqual(0.1 - 1e-12);
    expect(fit.evalWeights.code).toBe(0.5);
    expect(fit.optimum.predictedObjective).toBeLessThanOrEqual(fit.bestObservedRun.predictedObjective);
    // Same input and seed: byte-identical output.
    expect((await run(args)).code).toBe(0);
    expect(readFileSync(join(dir, 'fit.json'), 'utf8')).toBe(text);
  });

  it('usage errors are one line with exit code 2', async () => {
    expect(await run(['fit', '--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/w:<source>.*\n.*loss:<eval>/) });
    expect(await run(['fit', '--out', dir])).toMatchObject({ code: 2, err: expect.stringMatching(/needs --experiments/) });
    expect(await run(['fit', '--experiments', example.pathname, '--out', dir, '--min-weight', 'books'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--min-weight: "books" is not name=number/),
    });
    expect(await run(['fit', '--experiments', join(dir, 'missing.csv'), '--out', dir])).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read/) });
  });
});
