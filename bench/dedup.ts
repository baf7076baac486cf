/**
 * `npm run bench:dedup`: end-to-end throughput of near dedup (signatures → grouping →
 * outputs) on seeded synthetic corpora (fixtures/dedup/stream-corpus.ts), on the CPU and on
 * the GPU, for 1 … cores worker threads: documents/s, input MB/s and MB/s per core, peak RSS,
 * the GPU/CPU ratio, the scaling of N workers over 1 (measured in the same run), the GPU's
 * idle fraction during the signature phase, and where the time goes (reading+parsing,
 * words+shingle sets, MinHash, band keys+writes — thread time summed over workers — then
 * grouping+verification and outputs, wall time).
 *
 * Each run is a child process (`--child`), so peak RSS is that run's own (worker threads
 * included). Corpora are cached in the OS temp directory between runs of the benchmark.
 * Options: --sizes 100000,1000000  --backends cpu,gpu  --workers 1,2 (default 1..cores)  --keep-corpora
 * Results: bench/results/dedup-*.json. Recorded numbers: src/dedup/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeStreamCorpus } from '../fixtures/dedup/stream-corpus.js';
import { describeBackend, releaseBackend, resolveBackend, type BackendChoice } from '../src/backend.js';
import { dedup, emptyDedupTimes } from '../src/dedup/index.js';
import { dawnGpuOpener } from '../src/node/dawn.js';
import { fmtRate, machineInfo, printMachine, writeResults } from './common.js';

interface ChildResult {
  backend: string;
  workers: number;
  documents: number;
  inputBytes: number;
  totalMs: number;
  times: ReturnType<typeof emptyDedupTimes>;
  peakRssMB: number;
  clusters: number;
  removed: number;
  bands: number;
  rows: number;
  grouping: unknown;
}

async function child(input: string, outDir: string, choice: BackendChoice, workers: number): Promise<void> {
  const backend = await resolveBackend(choice, dawnGpuOpener('auto'));
  const times = emptyDedupTimes();
  const started = performance.now();
  try {
    const result = await dedup({ inputs: [{ path: input }], outDir, workers }, backend, { times });
    if (result.status !== 'complete') throw new Error('incomplete run');
    const m = result.manifest;
    const out: ChildResult = {
      backend: describeBackend(backend),
      workers: times.workers ?? workers,
      documents: m.totals.docs_in,
      inputBytes: statSync(input).size,
      totalMs: performance.now() - started,
      times,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      clusters: m.totals.clusters,
      removed: m.totals.removed_exact + m.totals.removed_near,
      bands: m.lsh.bands,
      rows: m.lsh.rows,
      grouping: result.stats,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    releaseBackend(backend);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      input: { type: 'string' },
      out: { type: 'string' },
      sizes: { type: 'string', default: '100000,1000000' },
      backends: { type: 'string', default: 'cpu,gpu' },
      workers: { type: 'string' },
      'keep-corpora': { type: 'boolean', default: false },
    },
  });
  if (values.child) return child(values.input!, values.out!, values.child as BackendChoice, Number(values.workers ?? 1));
  const workerCounts = (values.workers ?? Array.from({ length: availableParallelism() }, (_, i) => i + 1).join(',')).split(',').map(Number);

  const probe = await resolveBackend('auto', dawnGpuOpener('auto'));
  const info = machineInfo(probe);
  releaseBackend(probe);
  printMachine(info);
  const dir = join(tmpdir(), 'tokenmix-bench-dedup');
  mkdirSync(dir, { recursive: true });
  const rows: (ChildResult & { size: number; gpuIdle: number | null })[] = [];
  for (const size of values.sizes!.split(',').map(Number)) {
    const input = join(dir, `corpus-${size}.jsonl`);
    if (!existsSync(input)) {
      const started = performance.now();
      const { bytes } = await writeStreamCorpus(input, size, 1);
      console.log(`generated ${size} documents (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    for (const backend of values.backends!.split(',')) {
      for (const workers of workerCounts) {
        const outDir = join(dir, `out-${size}-${backend}-${workers}`);
        rmSync(outDir, { recursive: true, force: true });
        const line = execFileSync(
          process.execPath,
          [fileURLToPath(import.meta.url), '--child', backend, '--input', input, '--out', outDir, '--workers', String(workers)],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 },
        );
        const child = JSON.parse(line.trim().split('\n').at(-1)!) as ChildResult;
        const gpuIdle = child.backend.startsWith('gpu') && child.times.gpuBusyMs !== undefined ? 1 - child.times.gpuBusyMs / child.times.signatureMs : null;
        const r = { ...child, size, gpuIdle };
        rows.push(r);
        const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
        const t = r.times;
        const mbps = r.inputBytes / 1e6 / (r.totalMs / 1000);
        const base = rows.find((o) => o.size === size && o.backend === r.backend && o.workers === 1);
        console.log(
          `${String(size).padStart(8)} docs ${backend.padEnd(3)} ${String(r.workers).padStart(2)} worker(s): ${s(r.totalMs)}  ${fmtRate((r.documents * 1000) / r.totalMs, 'docs/s')}  ` +
            `${mbps.toFixed(1)} MB/s (${(mbps / r.workers).toFixed(1)} per core)  peak RSS ${r.peakRssMB} MB` +
            (base && r.workers > 1 ? `  ${(base.totalMs / r.totalMs).toFixed(2)}× one worker` : '') +
            (gpuIdle !== null ? `  GPU idle ${(100 * gpuIdle).toFixed(0)}% of the signature phase` : '') +
            `\n      signatures ${s(t.signatureMs)} wall; thread time: read+parse ${s(t.signature.readMs)}  words+shingles ${s(t.signature.wordsMs)}  ` +
            `minhash ${s(t.signature.minhashMs)}  bands ${s(t.signature.writeMs)}  | group+verify ${s(t.groupMs)}  outputs ${s(t.outputMs)}  | ${r.clusters} clusters, ${r.removed} removed`,
        );
        rmSync(outDir, { recursive: true, force: true });
      }
    }
    const cpu = rows.find((r) => r.size === size && r.backend.startsWith('cpu') && r.workers === 1);
    const gpu = rows.find((r) => r.size === size && r.backend.startsWith('gpu') && r.workers === 1);
    if (cpu && gpu) {
      console.log(
        `${String(size).padStart(8)} docs GPU/CPU: end to end ${(cpu.totalMs / gpu.totalMs).toFixed(2)}×, ` +
          `signature phase ${(cpu.times.signatureMs / gpu.times.signatureMs).toFixed(2)}× ` +
          '(on the GPU, MinHash overlaps the next batch\'s reading and words, so its time shows up there)',
      );
    }
    if (!values['keep-corpora'] && size >= 1_000_000) rmSync(input, { force: true });
  }
  console.log(`results: ${writeResults('dedup', { machine: info, runs: rows })}`);
}

await main();
