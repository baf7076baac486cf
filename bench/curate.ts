/**
 * `npm run bench:curate [-- --records 1000000 --workers 1,2 --tokenizers words,cl100k_base]`:
 * curate end to end (map on N worker threads, then the out-of-core reduce) on a seeded
 * synthetic JSONL corpus (fixtures/io/generate.ts; one file, so the map's work units are line
 * ranges of it), for each tokenizer and each worker count: wall time, MB/s and MB/s per core,
 * the scaling over one worker (measured in the same run), and the peak RSS of the run (a child
 * process per run: worker threads included). Corpora are cached in the OS temp directory.
 * Results: bench/results/curate-*.json; numbers in bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { syntheticRecords, writeJsonl } from '../fixtures/io/generate.js';
import { curate } from '../src/pipeline/curate.js';
import { machineInfo, printMachine, writeResults } from './common.js';

interface ChildResult {
  totalMs: number;
  peakRssMB: number;
  kept: number;
}

async function child(config: string, out: string, workers: number): Promise<void> {
  const started = performance.now();
  const result = await curate({ configPath: config, outDir: out, backend: { kind: 'cpu', reason: 'bench' }, workers });
  if (result.status !== 'complete') throw new Error('incomplete run');
  const line: ChildResult = { totalMs: performance.now() - started, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), kept: result.manifest.totals.kept };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      out: { type: 'string' },
      workers: { type: 'string' },
      records: { type: 'string', default: '1000000' },
      tokenizers: { type: 'string', default: 'words,cl100k_base' },
    },
  });
  if (values.child) return child(values.child, values.out!, Number(values.workers));
  const info = machineInfo(null);
  printMachine(info);
  const workerCounts = (values.workers ?? Array.from({ length: availableParallelism() }, (_, i) => i + 1).join(',')).split(',').map(Number);
  const dir = join(tmpdir(), 'tokenmix-bench-curate');
  mkdirSync(dir, { recursive: true });
  const rows = [];
  for (const records of values.records!.split(',').map(Number)) {
    const corpus = join(dir, `corpus-${records}.jsonl`);
    if (!existsSync(corpus)) await writeJsonl(corpus, syntheticRecords({ seed: 20_261_129, count: records, meanWords: 100 }));
    const bytes = statSync(corpus).size;
    for (const tokenizer of values.tokenizers!.split(',')) {
      const config = join(dir, `curate-${records}-${tokenizer}.json`);
      writeFileSync(config, JSON.stringify({ inputs: [{ path: corpus }], tokenizer, fields: { quality: 'quality' }, filters: { heuristics: true }, dedup: { exact: true } }));
      let one: number | null = null;
      for (const workers of workerCounts) {
        const out = join(dir, 'out');
        rmSync(out, { recursive: true, force: true });
        const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', config, '--out', out, '--workers', String(workers)], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        rmSync(out, { recursive: true, force: true });
        const r = JSON.parse(line.trim().split('\n').at(-1)!) as ChildResult;
        if (workers === 1) one = r.totalMs;
        const mbps = bytes / 1e6 / (r.totalMs / 1000);
        const row = { records, bytes, tokenizer, workers, ...r, mbps, scaling: one !== null ? one / r.totalMs : null };
        rows.push(row);
        console.log(
          `${records} records (${(bytes / 1e6).toFixed(0)} MB), ${tokenizer}, ${workers} worker(s): ${(r.totalMs / 1000).toFixed(1)} s, ` +
            `${mbps.toFixed(1)} MB/s (${(mbps / workers).toFixed(1)} per core)${row.scaling && workers > 1 ? `, ${row.scaling.toFixed(2)}× one worker` : ''}, peak RSS ${r.peakRssMB} MB`,
        );
      }
    }
  }
  console.log(`results: ${writeResults('curate', { machine: info, rows })}`);
}

await main();
