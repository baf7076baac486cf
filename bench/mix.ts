/**
 * `npm run bench:mix`: the mixture side of SPEC §3–§5 at realistic sizes, GPU vs CPU in one run.
 *
 * 1. Candidate evaluation (SPEC §5): K = 16 sources, V = 100k vocabulary, E = 8 eval domains,
 *    M = 64 / 256 / 1024 Dirichlet candidates; candidates/s for the CPU oracle, the GPU with
 *    P and evals uploaded per call (mixtureLossesGpu), the GPU with them resident
 *    (GpuMixtureEvaluator: only the weights go up per call), and a whole `sweepMixtures` (sampling,
 *    diagnostics, Pareto front) on the resident evaluator.
 * 2. Histogram build (SPEC §3 C_i(v)): 20M tokens in 20 batches of ~1M (K = 16, V = 100k, 80% of
 *    documents kept) through createHistogramAccumulator on each backend, tokens/s; counts compared.
 * Seeded data, warm-up runs, median of repeats; GPU phases (compile/upload/dispatch/readback) from
 * one extra run with phase barriers. Results: bench/results/mix-*.json.
 */
import { resolveBackend, type Backend } from '../src/backend.js';
import { dawnGpuOpener } from '../src/node/dawn.js';
import { emptyPhaseTimes, type PhaseTimes } from '../src/gpu/timing.js';
import type { GpuContext } from '../src/gpu/context.js';
import { createHistogramAccumulator, GpuHistogramAccumulator, type TokenBatch } from '../src/kernels/histogram.js';
import { GpuMixtureEvaluator, mixtureLossesGpu } from '../src/kernels/mixing.js';
import { mixtureLossesCpu, type MixtureLossInput } from '../src/cpu/mixing.js';
import { prepareMixtureData, sampleDirichlet, splitMix32, sweepMixtures, type PreparedMixtureData } from '../src/mixture/index.js';
import { fmtRate, machineInfo, measure, printMachine, writeResults } from './common.js';

const K = 16;
const V = 100_000;
const E = 8;
const CANDIDATES = [64, 256, 1024];
const HISTOGRAM_TOKENS = 20_000_000;
const HISTOGRAM_BATCHES = 20;
const SEED = 20240601;

const fmtPhases = (p: PhaseTimes) =>
  `[compile ${p.compileMs.toFixed(0)} upload ${p.uploadMs.toFixed(1)} dispatch ${p.dispatchMs.toFixed(1)} readback ${p.readbackMs.toFixed(1)} ms]`;

/** Zipf-like token counts per source (each source prefers its own shuffled vocabulary order). */
function mixtureData(): PreparedMixtureData {
  const random = splitMix32(SEED);
  const uniform = () => random.nextU32() / 2 ** 32;
  const zipfRow = (scale: number) => {
    const row = new Float64Array(V);
    for (let v = 0; v < V; v++) row[v] = Math.floor((scale / (1 + ((v * 7919 + random.below(V)) % V))) * (0.5 + uniform()));
    return row;
  };
  const counts = new Float64Array(K * V);
  for (let i = 0; i < K; i++) counts.set(zipfRow(1e6), i * V);
  return prepareMixtureData({
    sources: Array.from({ length: K }, (_, i) => ({ name: `source${i}`, retainedDocs: 1000, leakTokens: i * 10 })),
    counts,
    vocabSize: V,
    evals: Array.from({ length: E }, (_, j) => ({ name: `eval${j}`, tokenCounts: zipfRow(1e4).map((c, v) => c + (v % 97 === j ? 1 : 0)) })),
  });
}

async function benchCandidates(backend: Extract<Backend, { kind: 'gpu' }>) {
  const ctx = backend.ctx;
  const data = mixtureData();
  const rows = [];
  const evaluator = new GpuMixtureEvaluator(ctx, { numSources: K, vocabSize: V, numEvals: E }, data.distributions, data.evalDistributions);
  try {
    for (const M of CANDIDATES) {
      const weights = sampleDirichlet(new Float64Array(K).fill(1), M, SEED + M);
      const input: MixtureLossInput = { distributions: data.distributions, weights, evals: data.evalDistributions, numSources: K, vocabSize: V, numCandidates: M, numEvals: E };
      // Phases first, so the smallest size's run shows the one-time pipeline compile.
      const uploadPhases = emptyPhaseTimes();
      await mixtureLossesGpu(ctx, input, uploadPhases);
      const residentPhases = emptyPhaseTimes();
      await evaluator.evaluate(weights, M, residentPhases);
      // Everything is compiled and JIT-warm after the first size; the largest size (seconds per run) gets fewer repeats.
      const runs = M >= 1024 ? { warmup: 0, repeats: 2 } : { warmup: 1, repeats: 3 };
      const cpu = await measure(() => mixtureLossesCpu(input), runs);
      const upload = await measure(() => mixtureLossesGpu(ctx, input), runs);
      const resident = await measure(() => evaluator.evaluate(weights, M), runs);
      const sweep = await measure(
        () => sweepMixtures(data, { candidates: M, concentration: K, seed: SEED, budgetTokens: 1e9, lossFn: (batch) => evaluator.evaluate(batch.weights, batch.numCandidates) }),
        runs,
      );
      let worst = 0;
      cpu.result.forEach((loss, n) => (worst = Math.max(worst, Math.abs(resident.result[n] - loss) / Math.max(1, Math.abs(loss)))));
      const perSec = (ms: number) => M / (ms / 1000);
      const row = {
        candidates: M,
        runs,
        cpuMs: cpu.medianMs,
        gpuUploadMs: upload.medianMs,
        gpuResidentMs: resident.medianMs,
        sweepGpuResidentMs: sweep.medianMs,
        cpuCandidatesPerSec: perSec(cpu.medianMs),
        gpuUploadCandidatesPerSec: perSec(upload.medianMs),
        gpuResidentCandidatesPerSec: perSec(resident.medianMs),
        sweepCandidatesPerSec: perSec(sweep.medianMs),
        residentOverCpu: cpu.medianMs / resident.medianMs,
        uploadPhases,
        residentPhases,
        maxRelativeDifference: worst,
      };
      console.log(
        `mixing   M=${String(M).padEnd(5)} cpu ${fmtRate(row.cpuCandidatesPerSec, 'cand/s').padStart(14)}  gpu+upload ${fmtRate(row.gpuUploadCandidatesPerSec, 'cand/s').padStart(14)}  ` +
          `gpu resident ${fmtRate(row.gpuResidentCandidatesPerSec, 'cand/s').padStart(14)} (${row.residentOverCpu.toFixed(2)}x cpu)  sweep ${fmtRate(row.sweepCandidatesPerSec, 'cand/s').padStart(14)}  ` +
          `max rel diff ${worst.toExponential(1)}\n         upload ${fmtPhases(uploadPhases)}  resident ${fmtPhases(residentPhases)}`,
      );
      rows.push(row);
    }
  } finally {
    evaluator.destroy();
  }
  return rows;
}

/** 20M tokens as HISTOGRAM_BATCHES CSR batches of ~300-token documents, seeded. */
function tokenBatches(): TokenBatch[] {
  const random = splitMix32(SEED + 1);
  const perBatch = HISTOGRAM_TOKENS / HISTOGRAM_BATCHES;
  return Array.from({ length: HISTOGRAM_BATCHES }, () => {
    const lengths: number[] = [];
    for (let total = 0; total < perBatch; ) {
      const length = Math.min(perBatch - total, 150 + random.below(301));
      lengths.push(length);
      total += length;
    }
    const offsets = new Uint32Array(lengths.length + 1);
    lengths.forEach((length, d) => (offsets[d + 1] = offsets[d] + length));
    const ids = new Uint32Array(perBatch);
    // Skewed ids (min of two uniforms favours small ids), like a real frequency-sorted vocabulary.
    for (let t = 0; t < perBatch; t++) ids[t] = Math.min(random.below(V), random.below(V));
    return {
      offsets,
      ids,
      sources: Uint32Array.from(lengths, () => random.below(K)),
      keep: Uint8Array.from(lengths, () => (random.below(10) < 8 ? 1 : 0)),
    };
  });
}

async function benchHistogram(gpuBackend: Extract<Backend, { kind: 'gpu' }>) {
  const batches = tokenBatches();
  const config = { numSources: K, vocabSize: V };
  const build = async (backend: Backend) => {
    const accumulator = createHistogramAccumulator(backend, config);
    try {
      for (const batch of batches) await accumulator.add(batch);
      return await accumulator.read();
    } finally {
      accumulator.destroy();
    }
  };
  /** The same on the GPU accumulator with phase barriers (its add/read take PhaseTimes). */
  const phased = async (ctx: GpuContext, times: PhaseTimes) => {
    const accumulator = new GpuHistogramAccumulator(ctx, config);
    try {
      for (const batch of batches) await accumulator.add(batch, times);
      await accumulator.read(times);
    } finally {
      accumulator.destroy();
    }
  };
  const cpuBackend: Backend = { kind: 'cpu', reason: 'benchmark' };
  const phases = emptyPhaseTimes(); // first, so it shows the one-time pipeline compile
  await phased(gpuBackend.ctx, phases);
  const cpu = await measure(() => build(cpuBackend));
  const gpu = await measure(() => build(gpuBackend));
  const identical = cpu.result.every((count, cell) => count === gpu.result[cell]);
  const row = {
    tokens: HISTOGRAM_TOKENS,
    batches: HISTOGRAM_BATCHES,
    cpuMs: cpu.medianMs,
    gpuMs: gpu.medianMs,
    cpuTokensPerSec: HISTOGRAM_TOKENS / (cpu.medianMs / 1000),
    gpuTokensPerSec: HISTOGRAM_TOKENS / (gpu.medianMs / 1000),
    gpuOverCpu: cpu.medianMs / gpu.medianMs,
    gpuPhases: phases,
    identicalCounts: identical,
  };
  console.log(
    `histogram 20M tokens, K=16 V=100k: cpu ${fmtRate(row.cpuTokensPerSec, 'tokens/s')}  gpu ${fmtRate(row.gpuTokensPerSec, 'tokens/s')} ` +
      `(${row.gpuOverCpu.toFixed(2)}x cpu) ${fmtPhases(phases)}  counts identical: ${identical}`,
  );
  return row;
}

async function main(): Promise<void> {
  const backend = await resolveBackend('gpu', dawnGpuOpener());
  if (backend.kind !== 'gpu') throw new Error('unreachable: resolveBackend("gpu") throws without an adapter');
  const info = machineInfo(backend);
  printMachine(info);
  try {
    const candidates = await benchCandidates(backend);
    const histogram = await benchHistogram(backend);
    const file = writeResults('mix', { machine: info, shape: { sources: K, vocabSize: V, evals: E }, seed: SEED, candidates, histogram });
    console.log(`results: ${file}`);
  } finally {
    backend.ctx.destroy();
  }
}

await main();
