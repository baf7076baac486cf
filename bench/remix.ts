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
 * `-- --synthetic-docs N`: the same on a generated corpus of N seeded records in 4 JSONL shards
 * (fixtures/io/generate.ts; exact dedup, proportional baseline) instead of the fixture corpus,
 * to see how the two sides scale. Results: bench/results/remix-*.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { syntheticRecords, writeJsonl } from '../fixtures/io/generate.js';
import { mix } from '../src/pipeline/mix.js';
import { machineInfo, measure, printMachine, writeResults } from './common.js';

const backend = { kind: 'cpu', reason: 'bench' } as const;
const corpusDir = resolve('fixtures', 'corpus');
const work = mkdtempSync(join(tmpdir(), 'tokenmix-bench-remix-'));

const syntheticDocs = Number(parseArgs({ options: { 'synthetic-docs': { type: 'string' } } }).values['synthetic-docs'] ?? 0);

/** The fixture corpus's config, or the synthetic corpus's, with the late stage's math weight varied. */
function config(name: string, annealMath: number): string {
  const path = join(work, name);
  if (syntheticDocs > 0) {
    const raw = {
      inputs: [join(work, 'synthetic', '*.jsonl')],
      dedup: { exact: true },
      evals: { general: join(work, 'synthetic', 'eval.txt') },
      schedule: [
        { fraction: 0.8, weights: { web: 0.6, code: 0.2, math: 0.2 } },
        { fraction: 0.2, weights: { web: 0.3, code: 0.35, math: annealMath } },
      ],
      budget_tokens: 10 * syntheticDocs,
      materialize: { format: 'megatron', docs_per_shard: 10_000 },
      seed: 7,
    };
    writeFileSync(path, JSON.stringify(raw));
    return path;
  }
  const raw = JSON.parse(readFileSync(join(corpusDir, 'mix.json'), 'utf8'));
  raw.inputs = raw.inputs.map((input: { path: string }) => ({ ...input, path: join(corpusDir, input.path) }));
  raw.evals = Object.fromEntries(Object.entries(raw.evals as Record<string, string>).map(([k, v]) => [k, join(corpusDir, v)]));
  raw.schedule[1].weights.math = annealMath;
  raw.materialize = { format: 'megatron', docs_per_shard: 500 };
  writeFileSync(path, JSON.stringify(raw));
  return path;
}

async function writeSyntheticCorpus(): Promise<void> {
  const dir = join(work, 'synthetic');
  mkdirSync(dir, { recursive: true });
  for (let shard = 0; shard < 4; shard++) {
    await writeJsonl(join(dir, `part-${shard}.jsonl`), syntheticRecords({ seed: 500 + shard, count: Math.ceil(syntheticDocs / 4), idPrefix: `s${shard}` }));
  }
  writeFileSync(join(dir, 'eval.txt'), 'the data of the corpus and the weight of each source\n');
}

async function run(configPath: string, outDir: string, from?: string) {
  const result = await mix({ configPath, outDir, backend, ...(from ? { from } : {}) });
  if (result.status !== 'complete') throw new Error('mix did not complete');
  return result;
}

try {
  const info = machineInfo(backend);
  printMachine(info);
  if (syntheticDocs > 0) await writeSyntheticCorpus();
  console.log(`corpus: ${syntheticDocs > 0 ? `${syntheticDocs} synthetic records in 4 JSONL shards` : 'fixtures/corpus (mix.json)'}`);
  let fresh = 0;
  const full = await measure(async () => run(config('a.json', 0.35), join(work, `fresh-${fresh++}`)), syntheticDocs > 0 ? { warmup: 0, repeats: 1 } : { warmup: 1, repeats: 3 });
  const curated = join(work, 'fresh-0');
  let variant = 0;
  const remix = await measure(async () => {
    const result = await run(config(`v${variant}.json`, 0.2 + 0.05 * (variant++ % 5)), curated);
    if (!result.reused.curation || !result.reused.histograms) throw new Error('remix did not reuse the curation');
    return result;
  }, { warmup: 1, repeats: syntheticDocs > 0 ? 3 : 5 });
  let target = 0;
  const from = await measure(async () => run(config('from.json', 0.4), join(work, `from-${target++}`), curated), { warmup: 1, repeats: 3 });
  const rows = [
    { phase: 'fresh mix (curation + histograms + mixture + shards)', medianMs: full.medianMs, samplesMs: full.samplesMs },
    { phase: 'remix, schedule changed (mixture + shards)', medianMs: remix.medianMs, samplesMs: remix.samplesMs },
    { phase: 'mix --from the curated directory', medianMs: from.medianMs, samplesMs: from.samplesMs },
  ];
  for (const row of rows) console.log(`${row.phase.padEnd(56)} ${(row.medianMs / 1000).toFixed(2)} s`);
  console.log(`remix / fresh: ${(remix.medianMs / full.medianMs).toFixed(3)}`);
  console.log(`results: ${writeResults('remix', { machine: info, corpus: syntheticDocs > 0 ? { synthetic_docs: syntheticDocs } : 'fixtures/corpus', documents: full.result.manifest.sampling_plan?.entries, rows })}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
