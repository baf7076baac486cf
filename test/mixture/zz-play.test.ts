import { it } from 'vitest';
import { rng } from '../../fixtures/random.js';
import { fitExponentialLaw } from '../../src/mixture/fit.js';
it('x', () => {
  const R = rng(1);
  const K = 3, N = 30;
  const w = new Float64Array(N * K), l = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const g = Array.from({ length: K }, () => -Math.log(R.next()));
    const s = g.reduce((a, b) => a + b);
    g.forEach((x, i) => (w[n * K + i] = x / s));
    l[n] = 2 + 0.8 * Math.exp([1.5, -0.5, -1].reduce((a, ti, i) => a + ti * w[n * K + i], 0)) + 1e-3 * R.normal();
  }
  const rows = Array.from({ length: N }, (_, n) => n);
  for (let a = 0; a < 8; a++) {
    const t0 = performance.now();
    const r = fitExponentialLaw(w, l, rows, K, { restarts: 1, seed: 3, stream: [a] });
    console.log(a, (performance.now() - t0).toFixed(1), r.sse, r.law.c, r.law.k, Array.from(r.law.t));
  }
});
