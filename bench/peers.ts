/**
 * `npm run bench:peers`: `tokenmix dedup` end to end at its defaults against a peer and
 * against the floor, on the same ≥ 100 MB real-text corpus, in one run:
 *   - the corpus: ../shared/data/licenses-npm replicated with seeded perturbations
 *     (fixtures/dedup/replicate.ts; 12 copies ≈ 131 MB, 27k documents);
 *   - the floor: reading the file and JSON.parse-ing every line on one thread;
 *   - the peer: datasketch's shingling + MinHash (128 permutations) + LSH insert and query,
 *     timed by ../shared/peers/datasketch_time.py (Debian python3-numpy python3-scipy);
 *   - tokenmix: the real CLI (`bin/tokenmix.js dedup --input C --out D`), wall time of the
 *     process, with the CPU and with the auto-chosen backend, at the default workers (the
 *     cores) and at one worker.
 * Options: --copies 12  --skip-peer.  Results: bench/results/peers-*.json; numbers in bench/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeReplicatedCorpus } from '../fixtures/dedup/replicate.js';
import { releaseBackend, resolveBackend } from '../src/backend.js';
import { dawnGpuOpener } from '../src/node/dawn.js';
import { machineInfo, printMachine, writeResults } from './common.js';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/**
 * One thread reads the file and parses every line: what any tool must at least do. Two ways,
 * both timed, the faster is the floor: decoding 1 MiB chunks with TextDecoder and splitting
 * them, and decoding line by line from the bytes (as tokenmix's reader does: an ASCII line
 * becomes a one-byte string, which JSON.parse reads about twice as fast). Which is faster
 * depends on the machine (2026-12-07: 0.69 s and ~0.7 s on one, 1.5–2.0 s and 0.69 s on another).
 */
async function floorMs(path: string): Promise<{ ms: number; lines: number; chunksMs: number; linesMs: number }> {
  let started = performance.now();
  let lines = 0;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const text = rest + decoder.decode(chunk as Uint8Array, { stream: true });
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const line of parts) if (line.length > 0) {
      JSON.parse(line);
      lines++;
    }
  }
  if (rest.trim() !== '') {
    JSON.parse(rest);
    lines++;
  }
  const chunksMs = performance.now() - started;
  started = performance.now();
  let byLine = 0;
  let carry: Buffer = Buffer.alloc(0);
  for await (const data of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const chunk = carry.length > 0 ? Buffer.concat([carry, data as Buffer]) : (data as Buffer);
    let start = 0;
    for (let end = chunk.indexOf(10); end >= 0; end = chunk.indexOf(10, start)) {
      if (end > start) {
        JSON.parse(chunk.toString('utf8', start, end));
        byLine++;
      }
      start = end + 1;
    }
    carry = Buffer.from(chunk.subarray(start));
  }
  if (carry.length > 0 && carry.toString('utf8').trim() !== '') {
    JSON.parse(carry.toString('utf8'));
    byLine++;
  }
  const linesMs = performance.now() - started;
  if (byLine !== lines) throw new Error(`the two floors read ${lines} and ${byLine} lines`);
  return { ms: Math.min(chunksMs, linesMs), lines, chunksMs, linesMs };
}

function timeCli(root: string, input: string, out: string, extra: string[]): number {
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  const run = spawnSync(process.execPath, [join(root, 'bin/tokenmix.js'), 'dedup', '--input', input, '--out', out, '--no-report', ...extra], { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`tokenmix dedup failed: ${run.stderr}`);
  rmSync(out, { recursive: true, force: true });
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { copies: { type: 'string', default: '12' }, 'skip-peer': { type: 'boolean', default: false } } });
  const root = packageRoot();
  const probe = await resolveBackend('auto', dawnGpuOpener('auto'));
  const info = machineInfo(probe);
  releaseBackend(probe);
  printMachine(info);
  const dir = join(tmpdir(), 'tokenmix-bench-peers');
  mkdirSync(dir, { recursive: true });
  const copies = Number(values.copies);
  const corpus = join(dir, `licenses-x${copies}.jsonl`);
  if (!existsSync(corpus)) await writeReplicatedCorpus(join(root, '../shared/data/licenses-npm/corpus.jsonl.zst'), corpus, copies, 1);
  const bytes = statSync(corpus).size;
  const floor = await floorMs(corpus);
  console.log(`corpus: ${floor.lines} documents, ${(bytes / 1e6).toFixed(0)} MB; floor (read + JSON.parse, 1 thread): ${(floor.ms / 1000).toFixed(2)} s `
    + `(the faster of: 1 MiB chunks through TextDecoder ${(floor.chunksMs / 1000).toFixed(2)} s, line by line from the bytes ${(floor.linesMs / 1000).toFixed(2)} s)`);

  const cores = availableParallelism();
  const runs: Record<string, number> = {};
  for (const [name, extra] of [
    [`tokenmix auto backend, ${cores} workers`, []],
    [`tokenmix cpu backend, ${cores} workers`, ['--backend', 'cpu']],
    ['tokenmix auto backend, 1 worker', ['--workers', '1']],
    ['tokenmix cpu backend, 1 worker', ['--backend', 'cpu', '--workers', '1']],
  ] as const) {
    runs[name] = timeCli(root, corpus, join(dir, 'out'), [...extra]);
    console.log(`${name}: ${(runs[name] / 1000).toFixed(2)} s end to end (${(bytes / 1e6 / (runs[name] / 1000)).toFixed(1)} MB/s, ${(runs[name] / floor.ms).toFixed(2)}× the floor)`);
  }
  let peer: Record<string, number> | null = null;
  if (!values['skip-peer']) {
    const script = join(root, '../shared/peers/datasketch_time.py');
    const output = execFileSync('python3', [script, corpus], { encoding: 'utf8', maxBuffer: 1 << 24 });
    peer = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, number>;
    console.log(`datasketch (128 permutations, shingle + sign + LSH insert + query, 1 process): ${peer.total_s.toFixed(2)} s`);
    const best = Math.min(...Object.values(runs));
    console.log(`tokenmix (fastest configuration above) is ${((peer.total_s * 1000) / best).toFixed(1)}× faster than datasketch, measured in this run`);
  }
  console.log(`results: ${writeResults('peers', { machine: info, corpus: { documents: floor.lines, bytes, copies }, floorMs: floor.ms, floorChunksMs: floor.chunksMs, floorLinesMs: floor.linesMs, runs, datasketch: peer })}`);
}

await main();
