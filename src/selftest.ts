/**
 * The self-test behind `tokenmix doctor` (and the browser explorer's adapter check): run
 * every kernel on the GPU and on the CPU oracle over the same seeded input and compare —
 * integer outputs must be identical, float outputs within MIXING_TOLERANCE.
 */
import type { GpuContext } from './gpu/context.js';
import { iotaGpu } from './kernels/iota.js';
import { iotaCpu } from './cpu/iota.js';
import { minhashGpu } from './kernels/minhash.js';
import { minhashCpu } from './cpu/minhash.js';
import { ophGpu } from './kernels/oph.js';
import { ophCpu } from './cpu/oph.js';
import { thresholdGpu } from './kernels/threshold.js';
import { thresholdCpu } from './cpu/threshold.js';
import { GpuHistogramAccumulator } from './kernels/histogram.js';
import { histogramCpu } from './cpu/histogram.js';
import { mixtureLossesGpu } from './kernels/mixing.js';
import { mixtureLossesCpu } from './cpu/mixing.js';

/** |gpu - cpu| <= MIXING_TOLERANCE * max(1, |cpu|): f32 accumulation over the vocabulary. */
export const MIXING_TOLERANCE = 1e-4;

export interface KernelCheck {
  ok: boolean;
  detail: string;
  gpuMs: number;
  cpuMs: number;
}

export interface SelfTestResult {
  ok: boolean;
  kernels: Record<string, KernelCheck>;
}

/** A small self-contained PRNG (mulberry32) so the self-test needs nothing from fixtures/; the kernel benchmark uses it too. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

async function check(name: string, gpu: () => Promise<unknown>, cpu: () => unknown, compare: (g: any, c: any) => string | null): Promise<KernelCheck> {
  try {
    let t = performance.now();
    const g = await gpu();
    const gpuMs = performance.now() - t;
    t = performance.now();
    const c = cpu();
    const cpuMs = performance.now() - t;
    const problem = compare(g, c);
    return { ok: problem === null, detail: problem ?? 'GPU matches CPU', gpuMs, cpuMs };
  } catch (error) {
    return { ok: false, detail: `${name} failed: ${(error as Error).message}`, gpuMs: 0, cpuMs: 0 };
  }
}

/** Documents as CSR with `docs` documents of 0..maxLen tokens drawn below `range`. */
export function csr(random: () => number, docs: number, maxLen: number, range: number) {
  const offsets = new Uint32Array(docs + 1);
  for (let d = 0; d < docs; d++) offsets[d + 1] = offsets[d] + Math.floor(random() * (maxLen + 1));
  const values = new Uint32Array(offsets[docs]);
  for (let i = 0; i < values.length; i++) values[i] = Math.floor(random() * range) >>> 0;
  return { offsets, values };
}

/** `count` random probability rows of `width` (f32, each summing to 1). */
export function distributionRows(random: () => number, count: number, width: number): Float32Array {
  const out = new Float32Array(count * width);
  for (let r = 0; r < count; r++) {
    let sum = 0;
    for (let v = 0; v < width; v++) sum += out[r * width + v] = random();
    for (let v = 0; v < width; v++) out[r * width + v] /= sum;
  }
  return out;
}

export async function selfTest(ctx: GpuContext, seed = 20261122): Promise<SelfTestResult> {
  const random = prng(seed);
  const kernels: Record<string, KernelCheck> = {};
  const bits = (g: ArrayBufferView, c: ArrayBufferView) => (sameBits(g, c) ? null : 'GPU and CPU outputs differ');

  kernels.iota = await check('iota', () => iotaGpu(ctx, 1000, 12345, 7), () => iotaCpu(1000, 12345, 7), bits);

  const docs = csr(random, 300, 400, 0xffffffff);
  const mh = { ngram: 5, numHashes: 128, seed: 7 };
  kernels.minhash = await check(
    'minhash',
    () => minhashGpu(ctx, { offsets: docs.offsets, tokens: docs.values }, mh),
    () => minhashCpu({ offsets: docs.offsets, tokens: docs.values }, mh),
    bits,
  );
  // The same documents as shingle sets; the order and repeats of shingles do not change a sketch.
  const sketch = { numHashes: 128, seed: 7 };
  kernels.oph = await check(
    'oph',
    () => ophGpu(ctx, { offsets: docs.offsets, shingles: docs.values }, sketch),
    () => ophCpu({ offsets: docs.offsets, shingles: docs.values }, sketch),
    bits,
  );

  const n = 5000;
  const batch = {
    scores: Float32Array.from({ length: n }, () => (random() < 0.02 ? NaN : random())),
    sources: Uint32Array.from({ length: n }, () => Math.floor(random() * 3)),
    tokens: Uint32Array.from({ length: n }, () => Math.floor(random() * 5000)),
  };
  const params = { thresholds: new Float32Array([0.2, 0.5, 0.8]), histogram: { bins: 50, min: 0, max: 1 } };
  kernels.threshold = await check(
    'threshold',
    () => thresholdGpu(ctx, batch, params),
    () => thresholdCpu(batch, params),
    (g, c) =>
      sameBits(g.keepMask, c.keepMask) && sameBits(g.keptIndices, c.keptIndices) && sameBits(g.stats.histogram, c.stats.histogram) &&
      JSON.stringify(g.stats.sources) === JSON.stringify(c.stats.sources)
        ? null
        : 'GPU and CPU thresholding differ',
  );

  const vocab = 5000;
  const tokens = csr(random, 400, 300, vocab);
  const tokenBatch = {
    offsets: tokens.offsets,
    ids: tokens.values,
    sources: Uint32Array.from({ length: 400 }, () => Math.floor(random() * 4)),
    keep: Uint8Array.from({ length: 400 }, () => (random() < 0.8 ? 1 : 0)),
  };
  const histConfig = { numSources: 4, vocabSize: vocab };
  kernels.histogram = await check(
    'histogram',
    async () => {
      const acc = new GpuHistogramAccumulator(ctx, histConfig);
      try {
        await acc.add(tokenBatch);
        return await acc.read();
      } finally {
        acc.destroy();
      }
    },
    () => histogramCpu(tokenBatch, histConfig),
    bits,
  );

  const K = 4, V = 2000, M = 16, E = 3;
  const rows = (count: number, width: number) => distributionRows(random, count, width);
  const mixing = { distributions: rows(K, V), weights: rows(M, K), evals: rows(E, V), numSources: K, vocabSize: V, numCandidates: M, numEvals: E };
  kernels.mixing = await check(
    'mixing',
    () => mixtureLossesGpu(ctx, mixing),
    () => mixtureLossesCpu(mixing),
    (g: Float64Array, c: Float64Array) => {
      for (let i = 0; i < c.length; i++) {
        const err = Math.abs(g[i] - c[i]);
        if (!(err <= MIXING_TOLERANCE * Math.max(1, Math.abs(c[i])))) return `loss ${i}: GPU ${g[i]} vs CPU ${c[i]} (tolerance ${MIXING_TOLERANCE})`;
      }
      return null;
    },
  );

  return { ok: Object.values(kernels).every((k) => k.ok), kernels };
}
