/**
 * `npm run bench:curate [-- --records 1000000 --workers 1,2 --tokenizers words,cl100k_base --memory-mb 4096]`:
 * curate end to end (map on N worker threads, then the out-of-core reduce, also on N) on a
 * seeded synthetic JSONL corpus (fixtures/io/generate.ts; one file, so the map's work units are
 * line ranges of it), for each tokenizer and each worker count: wall time and the reduce's,
 * MB/s and MB/s per core, the scaling over one worker (measured in the same run), and the peak
 * RSS of the run (a child process per run: worker threads included). Corpora are cached in the
 * OS temp directory (`--delete-corpora` removes them after). `bench:ingest` runs the same
 * measurement (`curateScaling`). Results: bench/results/curate-*.json; numbers in bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { syntheticRecords, writeJsonl } from '../fixtures/io/generate.js';
import { curate } from '../src/pipeline/curate.js';
import { machineInfo, printMachine, writeResults } from './common.js';

interface ChildResult {
  totalMs: number;
  /** Of which the reduce phase (decisions and outputs; run.json's reduce_ms). */
  reduceMs: number;
  peakRssMB: number;
  kept: number;
}

export interface CurateRow extends ChildResult {
  records: number;
  bytes: number;
  tokenizer: string;
  workers: number;
  memoryMb: number | null;
  mbps: number;
  scaling: number | null;
}

async function child(config: string, out: string, workers: number, memoryMb: number | undefined): Promise<void> {
  const started = performance.now();
  const result = await curate({ configPath: config, outDir: out, backend: { kind: 'cpu', reason: 'bench' }, workers, ...(memoryMb ? { memoryMb } : {}) });
  if (result.status !== 'complete') throw new Error('incomplete run');
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { reduce_ms: number };
  const line: ChildResult = { totalMs: performance.now() - started, reduceMs: run.reduce_ms, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), kept: result.manifest.totals.kept };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export interface CurateScalingOptions {
  records: number[];
  tokenizers: string[];
  /** Worker counts (default 1 … cores). */
  workers?: number[];
  memoryMb?: number;
  /** Remove each generated corpus after its runs (large corpora). */
  deleteCorpora?: boolean;
}

/** Curate throughput per core and its scaling: one child process per (corpus, tokenizer, workers). */
export async function curateScaling(options: CurateScalingOptions): Promise<CurateRow[]> {
  const workerCounts = options.workers ?? Array.from({ length: availableParallelism() }, (_, i) => i + 1);
  const dir = join(tmpdir(), 'tokenmix-bench-curate');
  mkdirSync(dir, { recursive: true });
  const rows: CurateRow[] = [];
  for (const records of options.records) {
    const corpus = join(dir, `corpus-${records}.jsonl`);
    if (!existsSync(corpus)) await writeJsonl(corpus, syntheticRecords({ seed: 20_261_129, count: records, meanWords: 100 }));
    const bytes = statSync(corpus).size;
    for (const tokenizer of options.tokenizers) {
      const config = join(dir, `curate-${records}-${tokenizer}.json`);
      writeFileSync(config, JSON.stringify({ inputs: [{ path: corpus }], tokenizer, fields: { quality: 'quality' }, filters: { heuristics: true }, dedup: { exact: true } }));
      let one: number | null = null;
      for (const workers of workerCounts) {
        const out = join(dir, 'out');
        rmSync(out, { recursive: true, force: true });
        const args = [fileURLToPath(import.meta.url), '--child', config, '--out', out, '--workers', String(workers), ...(options.memoryMb ? ['--memory-mb', String(options.memoryMb)] : [])];
        const line = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        rmSync(out, { recursive: true, force: true });
        const r = JSON.parse(line.trim().split('\n').at(-1)!) as ChildResult;
        if (workers === 1) one = r.totalMs;
        const mbps = bytes / 1e6 / (r.totalMs / 1000);
        const row: CurateRow = { records, bytes, tokenizer, workers, memoryMb: options.memoryMb ?? null, ...r, mbps, scaling: one !== null ? one / r.totalMs : null };
        rows.push(row);
        console.log(
          `curate: ${records} records (${(bytes / 1e6).toFixed(0)} MB), ${tokenizer}, ${workers} worker(s): ${(r.totalMs / 1000).toFixed(1)} s (reduce ${(r.reduceMs / 1000).toFixed(1)} s), ` +
            `${mbps.toFixed(1)} MB/s (${(mbps / workers).toFixed(1)} per core)${row.scaling && workers > 1 ? `, ${row.scaling.toFixed(2)}× one worker` : ''}, peak RSS ${r.peakRssMB} MB`,
        );
      }
    }
    if (options.deleteCorpora) rmSync(corpus, { force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      out: { type: 'string' },
      workers: { type: 'string' },
      records: { type: 'string', default: '1000000' },
      tokenizers: { type: 'string', default: 'words,cl100k_base' },
      'memory-mb': { type: 'string' },
      'delete-corpora': { type: 'boolean', default: false },
    },
  });
  const memoryMb = values['memory-mb'] !== undefined ? Number(values['memory-mb']) : undefined;
  if (values.child) return child(values.child, values.out!, Number(values.workers), memoryMb);
  const info = machineInfo(null);
  printMachine(info);
  const rows = await curateScaling({
    records: values.records!.split(',').map(Number),
    tokenizers: values.tokenizers!.split(','),
    ...(values.workers ? { workers: values.workers.split(',').map(Number) } : {}),
    ...(memoryMb ? { memoryMb } : {}),
    deleteCorpora: values['delete-corpora'],
  });
  console.log(`results: ${writeResults('curate', { machine: info, rows })}`);
}

// Imported by bench:ingest, run as a script by bench:curate (and as its own child processes).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
