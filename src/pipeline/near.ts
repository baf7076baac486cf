/**
 * The near-dedup step of `tokenmix curate` (config `dedup.near`, SPEC §2): the `tokenmix dedup`
 * engine (src/dedup: MinHash on the backend, LSH aimed below the threshold, exact-Jaccard
 * verification, union-find, cluster rule `dedup.near.cluster`, keep rule) runs over the
 * documents that survive the earlier steps, read from the inputs themselves (only their rows,
 * in input order). Its drop lists mark the near duplicates; its clusters become
 * DIR/clusters.jsonl.
 *
 * Exact dedup has already run, so what dedup reports here is near duplicates (identical texts
 * after shingle normalization, e.g. differing only in punctuation, count as J = 1).
 */
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backend.js';
import type { Executor } from '../exec/executor.js';
import { invariant } from '../errors.js';
import { dedup, type DedupManifest } from '../dedup/index.js';
import { lowerBound } from '../dedup/signature-phase.js';
import type { FieldMap, ResolvedInput } from '../io/types.js';
import type { Step } from '../steps/step.js';
import { scoreField, type CurateConfig } from './config.js';
import type { ReduceRecord } from './reduce.js';

export interface NearDedupOutcome {
  threshold: number;
  ngram: number;
  num_hashes: number;
  lsh: DedupManifest['lsh'];
  clusters: number;
  documents_in_clusters: number;
  largest_cluster: number;
  removed: number;
  /** The rule that ran and what each rule removes (src/dedup/cover.ts). */
  cluster_rule: DedupManifest['cluster_rule'];
}

/** What the near-dedup step needs of the run. */
export interface NearContext {
  config: CurateConfig;
  fields: FieldMap;
  inputs: ResolvedInput[];
  workDir: string;
  outDir: string;
}

/** A growable list of u32 (rows or indices of one shard's survivors). */
class U32List {
  private data = new Uint32Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  get(i: number): number {
    return this.data[i];
  }
  /** The values pushed, in order, on a SharedArrayBuffer (dedup's row selection shares it with its workers as it is). */
  values(): Uint32Array {
    const values = new Uint32Array(new SharedArrayBuffer(4 * this.length));
    values.set(this.data.subarray(0, this.length));
    return values;
  }
}


/**
 * The near-dedup step (`dedup.near`): it notes the rows of the records that enter it, per
 * input shard, and at the end runs the dedup engine over their texts and drops what dedup
 * drops. `outcome()` is the manifest's `near_dedup`, once the step has run.
 */
/** How the dedup engine runs inside curate: its workers (default: the cores), a pool to borrow, the run's budget. */
export interface NearRun {
  workers?: number;
  /** The reduce's pool: dedup runs its tasks there instead of starting a second pool. */
  executor?: Executor;
  /** curate's --memory-mb: dedup plans its tables and caches within it. */
  memoryMb?: number;
  /** curate's --unit-mb (bytes): dedup's units are curate's. */
  unitBytes?: number;
}

export function nearDedupStep(ctx: NearContext, backend: Backend, run: NearRun = {}): Step<ReduceRecord> & { outcome(): NearDedupOutcome } {
  const near = ctx.config.dedup.near;
  invariant(near !== null, 'near dedup needs dedup.near');
  const rows = ctx.inputs.map(() => new U32List());
  const indices = ctx.inputs.map(() => new U32List());
  let outcome: NearDedupOutcome | null = null;
  return {
    stage: 'near_dedup',
    judge(batch) {
      batch.records.forEach((record, k) => {
        rows[batch.shard].push(record.row);
        indices[batch.shard].push(batch.indices[k]);
      });
    },
    async finish(drop) {
      outcome = await runNearDedup(ctx, backend, run, rows, (shard, k) => drop(shard, indices[shard].get(k), 'near_duplicate'));
    },
    outcome() {
      invariant(outcome !== null, 'near dedup has not run');
      return outcome;
    },
  };
}

/**
 * Runs dedup over the entering records (`rows` per shard, in input order) where they are, in the
 * inputs themselves (DedupOptions.selected: dedup reads only those rows, on the run's workers),
 * and reports each near duplicate as (shard, its position among the shard's entering records).
 */
async function runNearDedup(
  { config, fields, inputs, workDir, outDir }: NearContext,
  backend: Backend,
  { workers, executor, memoryMb, unitBytes }: NearRun,
  rows: U32List[],
  drop: (shard: number, k: number) => void,
): Promise<NearDedupOutcome> {
  const near = config.dedup.near!;
  const nearDir = join(workDir, 'near');
  await rm(nearDir, { recursive: true, force: true });
  await mkdir(nearDir, { recursive: true });
  const score = scoreField(config);
  const selected = rows.map((list) => list.values());
  const result = await dedup(
    {
      // The same files, formats and sources as curate's reader, and its units: a unit that
      // curate quarantined whole (damaged) has no selected row and is not read again.
      inputs: inputs.map((input) => ({ path: input.path, format: input.format, ...(input.source !== undefined ? { source: input.source } : {}) })),
      selected,
      ...(unitBytes !== undefined ? { unitBytes } : {}),
      // No source field when curate reads none (fields.source: null): dedup then takes each input's, as curate did.
      fields: { id: fields.id, text: fields.text, source: fields.source ?? null },
      outDir: join(nearDir, 'out'),
      threshold: near.threshold,
      ngram: near.ngram,
      numHashes: near.num_hashes,
      sketch: near.sketch,
      ...(near.bands !== undefined && near.rows !== undefined ? { bands: near.bands, rows: near.rows } : {}),
      seed: config.seed,
      keep: config.dedup.keep,
      cluster: near.cluster,
      ...(config.dedup.keep === 'best-quality' && score ? { qualityField: score } : {}),
      batchSize: config.batch_size,
      ...(workers !== undefined ? { workers } : {}),
      ...(memoryMb !== undefined ? { memoryBytes: memoryMb * 2 ** 20 } : {}),
    },
    backend,
    executor ? { executor } : {},
  );
  invariant(result.status === 'complete', 'near dedup of a single-rank curate run must complete');

  // Every entering record was read (a record curate kept is one dedup's reader accepts).
  const entering = selected.reduce((sum, list) => sum + list.length, 0);
  invariant(result.manifest.totals.docs_in === entering, `near dedup read ${result.manifest.totals.docs_in} of the ${entering} records that entered it`);
  // Dedup's drop lists, one per input in shard order, name near duplicates by their line (JSONL)
  // or row: its position among the shard's entering records is found in the shard's rows.
  const dropsDir = join(nearDir, 'out', 'drops');
  const dropFiles = (await readdir(dropsDir)).sort();
  invariant(dropFiles.length === inputs.length, `near dedup wrote ${dropFiles.length} drop lists for ${inputs.length} inputs`);
  let removed = 0;
  for (const [shard, name] of dropFiles.entries()) {
    for (const line of (await readFile(join(dropsDir, name), 'utf8')).split('\n')) {
      if (line === '') continue;
      const entry = JSON.parse(line) as { line?: number; row?: number };
      const k = lowerBound(selected[shard], (entry.line ?? entry.row)!);
      invariant(selected[shard][k] === (entry.line ?? entry.row), `near dedup dropped ${name} ${line}, which did not enter it`);
      drop(shard, k);
      removed++;
    }
  }
  await copyFile(join(nearDir, 'out', 'clusters.jsonl'), join(outDir, 'clusters.jsonl'));
  const totals = result.manifest.totals;
  return {
    threshold: near.threshold,
    ngram: near.ngram,
    num_hashes: near.num_hashes,
    lsh: result.manifest.lsh,
    clusters: totals.clusters,
    documents_in_clusters: totals.docs_in_clusters,
    largest_cluster: totals.largest_cluster,
    removed,
    cluster_rule: result.manifest.cluster_rule,
  };
}
