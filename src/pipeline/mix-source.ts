/**
 * Where `tokenmix mix` gets its curated corpus (issue 13 part 3: iterate on a mixture without
 * re-curating):
 *
 * - `--from DIR`: an existing curated directory (a `curate` or `mix` output). Its curation keys
 *   must equal the config's; the mixture keys are the config's.
 * - otherwise the output directory itself, when it already holds a complete curation of the same
 *   curation keys over unchanged inputs (a previous run, maybe one that failed after curating);
 *   else curation runs first (`curate`).
 *
 * Then the retained corpus (histograms, per-document tokens, kept-record store) comes from the
 * cache of the curated directory (retained-cache.ts) or is built once and cached. None of this
 * depends on how `curate` fingerprints its shard intermediates.
 */
import { statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TokenmixError } from '../errors.js';
import { contentHash } from '../io/index.js';
import type { ResolvedInput } from '../io/types.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { VERSION } from '../version.js';
import type { CurateConfig } from './config.js';
import { curate, fieldMap, type CurateOptions, type Manifest } from './curate.js';
import { retainedCorpus, type RetainedCorpus } from './distributions.js';
import { encodeTexts, type EncodeBatchTask, type EncodedBatch } from './encode-task.js';
import { createExecutor } from '../exec/local.js';
import type { EvalSet } from './evals.js';
import { curationDifference } from './mix-config.js';
import { curatedDigest, curatedPart, dropCacheRecord, keptStorePath, loadRetainedCorpus, readCacheRecord, saveRetainedCorpus, type CacheRecord } from './retained-cache.js';
import type { ProgressFactory } from '../work/progress.js';

export interface CuratedCorpus {
  /** The curated manifest (mixture blocks and mixed outputs removed), with the run's config. */
  manifest: Manifest;
  curatedDir: string;
  corpus: RetainedCorpus;
  /** Identifies the curated corpus (the cache key): materialized shards of another are not reused. */
  corpusKey: string;
  keptStore: string;
  /** Whether curation and the histogram pass were skipped. */
  reused: { curation: boolean; histograms: boolean };
}

export interface MixSourceOptions {
  run: CurateOptions;
  config: CurateConfig;
  from?: string;
  inputs: ResolvedInput[];
  tokenizer: Tokenizer;
  evals: EvalSet[];
  /** Progress display of the histogram pass (the CLI passes one on a terminal). */
  progress?: ProgressFactory;
}

async function readManifest(dir: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

const inputStats = (inputs: ResolvedInput[]): CacheRecord['input_stats'] =>
  inputs.map((i) => {
    const stat = statSync(i.path);
    return [i.displayPath, stat.size, stat.mtimeMs];
  });

/** Whether the manifest describes exactly these inputs' bytes (cheap when the cache saw the same stats). */
async function sameInputs(manifest: Manifest, inputs: ResolvedInput[], record: CacheRecord | null): Promise<boolean> {
  if (manifest.inputs.length !== inputs.length || manifest.inputs.some((m, i) => m.path !== inputs[i].displayPath)) return false;
  if (record && record.curated_digest === curatedDigest(manifest) && JSON.stringify(record.input_stats) === JSON.stringify(inputStats(inputs))) return true;
  for (const [i, input] of inputs.entries()) if ((await contentHash(input.path)) !== manifest.inputs[i].sha256) return false;
  return true;
}

export async function curatedCorpus(options: MixSourceOptions): Promise<CuratedCorpus | { status: 'partial'; pendingShards: number[] }> {
  const { run, config, inputs, tokenizer, evals } = options;
  const log = run.log ?? (() => {});
  const curatedDir = resolve(options.from ?? run.outDir);
  let manifest = await readManifest(curatedDir);
  let reusedCuration = false;
  if (options.from) {
    if (!manifest) throw new TokenmixError(`--from ${options.from}: no manifest.json there; pass a directory written by tokenmix curate or tokenmix mix`);
    if (manifest.tool?.version !== VERSION) throw new TokenmixError(`--from ${options.from}: curated by tokenmix ${manifest.tool?.version}, this is ${VERSION}; curate again`);
    const key = curationDifference(manifest.config, config);
    if (key) throw new TokenmixError(`--from ${options.from}: it was curated with a different "${key}" than ${run.configPath}; only mixture keys may change (run tokenmix mix without --from to curate again)`);
    if (!(await sameInputs(manifest, inputs, await readCacheRecord(curatedDir)))) {
      throw new TokenmixError(`--from ${options.from}: the inputs are not the bytes it was curated from (a file changed, appeared or went away); curate again`);
    }
    reusedCuration = true;
  } else if (
    manifest &&
    manifest.tool?.version === VERSION &&
    curationDifference(manifest.config, config) === null &&
    (await sameInputs(manifest, inputs, await readCacheRecord(curatedDir)))
  ) {
    reusedCuration = true;
    log('tokenmix: the output directory already holds this curation (same curation keys, same inputs): reusing it, only the mixture runs');
  } else {
    const curated = await curate(run);
    if (curated.status === 'partial') return { status: 'partial', pendingShards: curated.pendingShards };
    // Another process (a plain curate) wrote this very curation while this one waited for it.
    manifest = curated.status === 'done-elsewhere' ? await readManifest(curatedDir) : curated.manifest;
    if (!manifest) throw new TokenmixError(`${curatedDir}: another process completed its curation but left no manifest.json; run tokenmix mix again`);
  }
  const curatedManifest = { ...curatedPart(manifest!), config };
  const digest = curatedDigest(manifest!);
  const keptStore = keptStorePath(curatedDir);
  const record = await readCacheRecord(curatedDir);
  const cached = record && record.curated_digest === digest && record.has_store ? await loadRetainedCorpus(curatedDir, record) : null;
  if (cached) {
    log('tokenmix: reusing the cached token histograms of the retained documents');
    return { manifest: curatedManifest, curatedDir, corpus: cached, corpusKey: digest, keptStore, reused: { curation: reusedCuration, histograms: true } };
  }
  if (!options.progress) log('tokenmix: building per-source token histograms of the retained documents');
  await mkdir(join(curatedDir, '.tokenmix', 'retained'), { recursive: true });
  await dropCacheRecord(curatedDir);
  // The texts are tokenized on the run's workers (--workers, --memory-mb), batch by batch.
  const executor = createExecutor({ workers: run.workers, memoryMb: run.memoryMb }, (task) => Promise.resolve(encodeTexts(tokenizer, (task as EncodeBatchTask).texts)));
  let corpus: RetainedCorpus;
  try {
    corpus = await retainedCorpus({
      inputs,
      fields: fieldMap(config),
      outDir: curatedDir,
      sources: manifest!.sources,
      tokenizer,
      evals,
      backend: run.backend,
      batchSize: config.batch_size,
      keptStore,
      ...(options.progress ? { progress: options.progress } : {}),
      encodeBatch: (texts) => {
        const task: EncodeBatchTask = { kind: 'encode-batch', label: `tokenizing ${texts.length} retained documents`, tokenizer: config.tokenizer, baseDir: dirname(resolve(run.configPath)), texts };
        return executor.run<EncodedBatch>(task, { advance: () => {} });
      },
      inFlight: 2 * executor.workers,
    });
  } finally {
    await executor.close();
  }
  await saveRetainedCorpus(curatedDir, corpus, { curated_digest: digest, input_stats: inputStats(inputs) });
  return { manifest: curatedManifest, curatedDir, corpus, corpusKey: digest, keptStore, reused: { curation: reusedCuration, histograms: false } };
}
