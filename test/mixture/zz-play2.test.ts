import { it } from 'vitest';
import { rng } from '/work/main/fixtures/random.js';
import { fitMixtureLaws, type ExperimentTable } from '/work/main/src/mixture/index.js';
import { fitMixtureLaws as f2 } from '/work/main/src/mixture/fit.js';
it('x', () => {
  const R = rng(1);
  const K = 3, N = 30, E = 2;
  const truth = [{ c: 2, k: 0.8, t: [1.5, -0.5, -1] }, { c: 1, k: 0.5, t: [-1, 2, -1] }];
  const w = new Float64Array(N * K), l = new Float64Array(N * E);
  for (let n = 0; n < N; n++) {
    const g = Array.from({ length: K }, () => -Math.log(R.next()));
    const s = g.reduce((a, b) => a + b);
    g.forEach((x, i) => (w[n * K + i] = x / s));
    truth.forEach((t, j) => (l[n * E + j] = t.c + t.k * Math.exp(t.t.reduce((a, ti, i) => a + ti * w[n * K + i], 0)) + 1e-3 * R.normal()));
  }
  const table: ExperimentTable = { sourceNames: ['a', 'b', 'c'], evalNames: ['x', 'y'], numRuns: N, weights: w, losses: l, lines: Array.from({ length: N }, (_, n) => n + 2) };
  const t0 = performance.now();
  const fit = f2(table, { seed: 3 });
  console.log(performance.now() - t0);
  console.log(JSON.stringify(fit, null, 1));
});
