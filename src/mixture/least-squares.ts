/** Generic dense least squares (f64), shared by the mixture-law fits. */

/**
 * min ||A x - y|| for A n×p row-major (n >= p) by Householder QR; null when A is rank-deficient
 * (|R_kk| <= 1e-10 · the largest column norm).
 */
export function leastSquares(matrix: ArrayLike<number>, rhs: ArrayLike<number>, n: number, p: number): Float64Array | null {
  if (n < p) return null;
  const a = Float64Array.from(matrix);
  const y = Float64Array.from(rhs);
  let scale = 0;
  for (let j = 0; j < p; j++) {
    let norm = 0;
    for (let i = 0; i < n; i++) norm += a[i * p + j] ** 2;
    scale = Math.max(scale, Math.sqrt(norm));
  }
  if (scale === 0) return null;
  const diagonal = new Float64Array(p);
  const v = new Float64Array(n);
  for (let k = 0; k < p; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[i * p + k] ** 2;
    norm = Math.sqrt(norm);
    const alpha = a[k * p + k] > 0 ? -norm : norm;
    diagonal[k] = alpha;
    if (Math.abs(alpha) <= 1e-10 * scale) return null;
    for (let i = k; i < n; i++) v[i] = a[i * p + k];
    v[k] -= alpha;
    let vv = 0;
    for (let i = k; i < n; i++) vv += v[i] * v[i];
    const reflect = (get: (i: number) => number, set: (i: number, x: number) => void) => {
      let s = 0;
      for (let i = k; i < n; i++) s += v[i] * get(i);
      s = (2 * s) / vv;
      for (let i = k; i < n; i++) set(i, get(i) - s * v[i]);
    };
    for (let j = k + 1; j < p; j++) reflect((i) => a[i * p + j], (i, x) => (a[i * p + j] = x));
    reflect((i) => y[i], (i, x) => (y[i] = x));
  }
  const x = new Float64Array(p);
  for (let k = p - 1; k >= 0; k--) {
    let s = y[k];
    for (let j = k + 1; j < p; j++) s -= a[k * p + j] * x[j];
    x[k] = s / diagonal[k];
  }
  return x;
}
