/**
 * `npm run bench:kernels`: every kernel on the GPU and on the CPU oracle at three sizes,
 * seeded, with a warm-up, phases (compile/upload/dispatch/readback) timed separately on the
 * GPU, docs/s and GB/s, and the GPU/CPU throughput ratio measured in the same run.
 * Results: bench/results/kernels-*.json. Recorded numbers: bench/README.md.
 */
import { resolveBackend, type Backend } from '../src/backend.js';
import { dawnGpuOpener } from '../src/node/dawn.js';
import { emptyPhaseTimes, type PhaseTimes } from '../src/gpu/timing.js';
import { minhashGpu } from '../src/kernels/minhash.js';
import { minhashConstants, minhashCpu } from '../src/cpu/minhash.js';
import { ophGpu } from '../src/kernels/oph.js';
import { ophCpu, shingleBatch, type ShingleBatch } from '../src/cpu/oph.js';
import { shingleSet } from '../src/dedup/shingles.js';
import { thresholdGpu } from '../src/kernels/threshold.js';
import { thresholdCpu } from '../src/cpu/threshold.js';
import { GpuHistogramAccumulator } from '../src/kernels/histogram.js';
import { histogramCpu } from '../src/cpu/histogram.js';
import { mixtureLossesGpu } from '../src/kernels/mixing.js';
import { mixtureLossesCpu } from '../src/cpu/mixing.js';
import { distributionRows, prng } from '../src/selftest.js';
import { fmtRate, machineInfo, measure, printMachine, writeResults } from './common.js';

interface Row {
  kernel: string;
  size: string;
  items: number;
  bytes: number;
  unit: string;
  cpuMs: number;
  gpuMs: number;
  gpuPhases: PhaseTimes;
  cpuItemsPerSec: number;
  gpuItemsPerSec: number;
  gpuGBps: number;
  gpuOverCpu: number;
  /** oph rows: building the shingle sets from the word hashes, once, on the CPU. */
  shingleSetsMs?: number;
}

function csr(random: () => number, docs: number, meanLen: number, range: number) {
  const offsets = new Uint32Array(docs + 1);
  for (let d = 0; d < docs; d++) offsets[d + 1] = offsets[d] + Math.max(1, Math.round(meanLen * (0.5 + random())));
  const values = new Uint32Array(offsets[docs]);
  for (let i = 0; i < values.length; i++) values[i] = Math.floor(random() * range) >>> 0;
  return { offsets, values };
}

async function compare(
  kernel: string,
  size: string,
  items: number,
  bytes: number,
  unit: string,
  gpu: (times?: PhaseTimes) => Promise<unknown>,
  cpu: () => unknown,
): Promise<Row> {
  // The first GPU call compiles the pipeline: it is the warm-up, and its compile time is
  // the one reported (later calls hit the pipeline cache).
  const firstCall = emptyPhaseTimes();
  await gpu(firstCall);
  const cpuRun = await measure(cpu, { warmup: 1, repeats: 3 });
  const gpuRun = await measure(() => gpu(), { warmup: 0, repeats: 3 });
  // One more run with phase barriers, to split the time into phases.
  const phases = emptyPhaseTimes();
  await gpu(phases);
  phases.compileMs = firstCall.compileMs;
  const row: Row = {
    kernel,
    size,
    items,
    bytes,
    unit,
    cpuMs: cpuRun.medianMs,
    gpuMs: gpuRun.medianMs,
    gpuPhases: phases,
    cpuItemsPerSec: items / (cpuRun.medianMs / 1000),
    gpuItemsPerSec: items / (gpuRun.medianMs / 1000),
    gpuGBps: bytes / 1e9 / (gpuRun.medianMs / 1000),
    gpuOverCpu: cpuRun.medianMs / gpuRun.medianMs,
  };
  const p = phases;
  console.log(
    `${kernel.padEnd(10)} ${size.padEnd(22)} cpu ${fmtRate(row.cpuItemsPerSec, unit).padStart(14)}  gpu ${fmtRate(row.gpuItemsPerSec, unit).padStart(14)} ` +
      `(${row.gpuGBps.toFixed(3)} GB/s)  gpu/cpu ${row.gpuOverCpu.toFixed(2)}x  ` +
      `[compile ${p.compileMs.toFixed(0)} upload ${p.uploadMs.toFixed(1)} dispatch ${p.dispatchMs.toFixed(1)} readback ${p.readbackMs.toFixed(1)} ms]`,
  );
  return row;
}

/** The shingle sets of MinHash's input (what dedup builds anyway to verify candidates), as CSR. */
function shingleSets(batch: { offsets: Uint32Array; tokens: Uint32Array }, ngram: number, seed: number): ShingleBatch {
  const { shingleSeed } = minhashConstants({ ngram, seed });
  const count = batch.offsets.length - 1;
  return shingleBatch(Array.from({ length: count }, (_, d) => shingleSet(batch.tokens, ngram, shingleSeed, batch.offsets[d], batch.offsets[d + 1] - batch.offsets[d])));
}

/** `--only minhash,oph` runs a subset of the kernels (default: all). */
function selected(kernel: string): boolean {
  const at = process.argv.indexOf('--only');
  return at < 0 || (process.argv[at + 1] ?? '').split(',').includes(kernel);
}

async function main(): Promise<void> {
  const backend: Backend = await resolveBackend('gpu', dawnGpuOpener());
  if (backend.kind !== 'gpu') throw new Error('unreachable');
  const ctx = backend.ctx;
  const info = machineInfo(backend);
  printMachine(info);
  const rows: Row[] = [];
  const random = prng(42);
  try {
    // The last size is short documents (~8 words, ~4 shingles), where OPH densifies most bins.
    for (const [docs, words] of [[1_000, 300], [10_000, 300], [50_000, 300], [50_000, 8]]) {
      const d = csr(random, docs, words, 0xffffffff);
      const batch = { offsets: d.offsets, tokens: d.values };
      const params = { ngram: 5, numHashes: 128, seed: 1 };
      const bytes = d.values.byteLength + d.offsets.byteLength;
      let minhashRow: Row | undefined;
      if (selected('minhash')) {
        minhashRow = await compare('minhash', `${docs} docs × ~${words} words`, docs, bytes, 'docs/s',
          (t) => minhashGpu(ctx, batch, params, t), () => minhashCpu(batch, params));
        rows.push(minhashRow);
      }
      if (selected('oph')) {
        // Same documents, same K and seed: one-permutation MinHash over their shingle sets.
        const setsStart = performance.now();
        const sets = shingleSets(batch, params.ngram, params.seed);
        const setsMs = performance.now() - setsStart;
        const sketch = { numHashes: params.numHashes, seed: params.seed };
        const row = await compare('oph', `${docs} docs × ~${words} words`, docs, bytes, 'docs/s',
          (t) => ophGpu(ctx, sets, sketch, t), () => ophCpu(sets, sketch));
        rows.push({ ...row, shingleSetsMs: setsMs });
        console.log(`           shingle sets built once on the CPU in ${setsMs.toFixed(0)} ms (not in the oph times: dedup builds them to verify candidates)`);
        if (minhashRow) {
          console.log(`           oph vs minhash, same run: cpu ${(minhashRow.cpuMs / row.cpuMs).toFixed(1)}× faster, gpu ${(minhashRow.gpuMs / row.gpuMs).toFixed(1)}× faster`);
        }
      }
    }
    for (const n of selected('threshold') ? [10_000, 1_000_000, 8_000_000] : []) {
      const batch = {
        scores: Float32Array.from({ length: n }, () => random()),
        sources: Uint32Array.from({ length: n }, () => Math.floor(random() * 8)),
        tokens: Uint32Array.from({ length: n }, () => Math.floor(random() * 4000)),
      };
      const params = { thresholds: new Float32Array(8).fill(0.5), histogram: { bins: 100, min: 0, max: 1 } };
      rows.push(
        await compare('threshold', `${n} docs, 8 sources`, n, n * 12, 'docs/s', (t) => thresholdGpu(ctx, batch, params, t), () => thresholdCpu(batch, params)),
      );
    }
    for (const docs of selected('histogram') ? [1_000, 10_000, 50_000] : []) {
      const vocab = 100_000;
      const d = csr(random, docs, 300, vocab);
      const batch = {
        offsets: d.offsets,
        ids: d.values,
        sources: Uint32Array.from({ length: docs }, () => Math.floor(random() * 16)),
        keep: Uint8Array.from({ length: docs }, () => (random() < 0.8 ? 1 : 0)),
      };
      const config = { numSources: 16, vocabSize: vocab };
      rows.push(
        await compare('histogram', `${d.values.length} tokens, K=16 V=100k`, d.values.length, d.values.byteLength, 'tokens/s',
          async (t) => {
            const acc = new GpuHistogramAccumulator(ctx, config);
            try {
              await acc.add(batch, t);
              return await acc.read();
            } finally {
              acc.destroy();
            }
          },
          () => histogramCpu(batch, config)),
      );
    }
    for (const M of selected('mixing') ? [16, 128, 512] : []) {
      const K = 16, V = 100_000, E = 8;
      const rowsOf = (count: number, width: number) => distributionRows(random, count, width);
      const input = { distributions: rowsOf(K, V), weights: rowsOf(M, K), evals: rowsOf(E, V), numSources: K, vocabSize: V, numCandidates: M, numEvals: E };
      rows.push(
        await compare('mixing', `${M} cand., K=16 V=100k E=8`, M, (K + E) * V * 4, 'cand/s',
          (t) => mixtureLossesGpu(ctx, input, t), () => mixtureLossesCpu(input)),
      );
    }
  } finally {
    ctx.destroy();
  }
  const file = writeResults('kernels', { machine: info, rows });
  console.log(`results: ${file}`);
}

await main();
