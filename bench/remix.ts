/**
 * `npm run bench:remix`: issue 13 part 3 ("seconds, not minutes") on the bundled fixture corpus
 * (fixtures/corpus/mix.json with its sweep and optimizer, materialized as Megatron shards), CPU
 * backend, median of repeats:
 *
 * 1. `fresh`: `tokenmix mix` into an empty directory (curation, histogram pass, mixture, shards).
 * 2. `remix`: the same directory again with another schedule: curation and the histogram pass are
 *    reused (retained-corpus cache), only the mixture and the shards run.
 * 3. `from`: `mix --from` the curated directory into a new one.
 *
 * Results: bench/results/remix-*.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mix } from '../src/pipeline/mix.js';
import { machineInfo, measure, printMachine, writeResults } from './common.js';

const backend = { kind: 'cpu', reason: 'bench' } as const;
const corpusDir = resolve('fixtures', 'corpus');
const work = mkdtempSync(join(tmpdir(), 'tokenmix-bench-remix-'));

function config(name: string, annealMath: number): string {
  const raw = JSON.parse(readFileSync(join(corpusDir, 'mix.json'), 'utf8'));
  raw.inputs = raw.inputs.map((input: { path: string }) => ({ ...input, path: join(corpusDir, input.path) }));
  raw.evals = Object.fromEntries(Object.entries(raw.evals as Record<string, string>).map(([k, v]) => [k, join(corpusDir, v)]));
  raw.schedule[1].weights.math = annealMath;
  raw.materialize = { format: 'megatron', docs_per_shard: 500 };
  const path = join(work, name);
  writeFileSync(path, JSON.stringify(raw));
  return path;
}

async function run(configPath: string, outDir: string, from?: string) {
  const result = await mix({ configPath, outDir, backend, ...(from ? { from } : {}) });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  return result;
}

try {
  const info = machineInfo(backend);
  printMachine(info);
  let fresh = 0;
  const full = await measure(async () => run(config('a.json', 0.35), join(work, `fresh-${fresh++}`)), { warmup: 1, repeats: 3 });
  const curated = join(work, 'fresh-0');
  let variant = 0;
  const remix = await measure(async () => {
    const result = await run(config(`v${variant}.json`, 0.2 + 0.05 * (variant++ % 5)), curated);
    if (!result.reused.curation || !result.reused.histograms) throw new Error('remix did not reuse the curation');
    return result;
  }, { warmup: 1, repeats: 5 });
  let target = 0;
  const from = await measure(async () => run(config('from.json', 0.4), join(work, `from-${target++}`), curated), { warmup: 1, repeats: 3 });
  const rows = [
    { phase: 'fresh mix (curation + histograms + mixture + shards)', medianMs: full.medianMs, samplesMs: full.samplesMs },
    { phase: 'remix, schedule changed (mixture + shards)', medianMs: remix.medianMs, samplesMs: remix.samplesMs },
    { phase: 'mix --from the curated directory', medianMs: from.medianMs, samplesMs: from.samplesMs },
  ];
  for (const row of rows) console.log(`${row.phase.padEnd(56)} ${(row.medianMs / 1000).toFixed(2)} s`);
  console.log(`remix / fresh: ${(remix.medianMs / full.medianMs).toFixed(3)}`);
  console.log(`results: ${writeResults('remix', { machine: info, documents: full.result.manifest.sampling_plan?.entries, rows })}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
